package reports_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/reports"
)

func TestParseOutboundQuery(t *testing.T) {
	parse := func(q string) (reports.OutboundFilter, map[string]string) {
		t.Helper()
		v, _ := url.ParseQuery("from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&" + q)
		f, err := reports.ParseOutboundQuery(v, 7)
		var perr *parley.Error
		if errors.As(err, &perr) {
			return f, perr.Fields
		}
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return f, nil
	}
	f, bad := parse("")
	if bad != nil || f.ReplyWindow != 72*time.Hour || f.AccountID != 7 || f.TagType != "" || f.ContactKind != "" {
		t.Errorf("defaults = %+v, %v; want a 72 h window and no filters", f, bad)
	}
	f, bad = parse("channel_id=3&origin_type=template&campaign_id=4&campaign_name=Spring&tag_type=sale&final_tag_id=5&contact_kind=new&reply_window=24")
	if bad != nil || *f.ChannelID != 3 || f.OriginType != "template" || *f.CampaignID != 4 || f.CampaignName != "Spring" ||
		f.TagType != conversations.TagSale || *f.FinalTagID != 5 || f.ContactKind != reports.ContactNew || f.ReplyWindow != 24*time.Hour {
		t.Errorf("every filter = %+v, %v", f, bad)
	}
	if f, bad = parse("final_tag_type=sale"); bad != nil || f.TagType != conversations.TagSale {
		t.Errorf("final_tag_type=sale gives %q, %v; want the final tag's type, as tag_type", f.TagType, bad)
	}
	if _, bad = parse("tag_type=sale&final_tag_type=negative"); bad["final_tag_type"] == "" {
		t.Errorf("tag_type and final_tag_type disagreeing: %v; want final_tag_type named", bad)
	}
	_, bad = parse("origin_type=fax&tag_type=great&contact_kind=old&reply_window=721&channel_id=x")
	for _, field := range []string{"origin_type", "tag_type", "contact_kind", "reply_window", "channel_id"} {
		if bad[field] == "" {
			t.Errorf("%s not named in %v", field, bad)
		}
	}
}

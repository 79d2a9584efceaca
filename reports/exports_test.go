package reports_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/reports/export"
)

// TestExportsMarkFreeText: every export writes what people wrote as
// export.Text, so that CSV quotes it when it starts like a formula, and
// only that: its phones keep their "+".
func TestExportsMarkFreeText(t *testing.T) {
	const f, phone = "=1+1", "+14155550100"
	campaign := parley.ID(1)
	conv := conversations.Conversation{ContactName: f, ContactPhone: phone, BusinessPhone: phone}
	for _, c := range []struct {
		columns []string
		values  []any
		want    []string // the columns quoted
	}{
		{reports.AuditColumns, reports.AuditRow{CampaignID: &campaign, CampaignName: f, ContactName: f, Phone: phone, FinalTag: f}.Values(),
			[]string{"campaign_name", "contact_name", "final_tag"}},
		{reports.ConversationColumns, reports.ConversationRow{Conversation: conv, Tags: []string{f, "b"}, FinalTag: f}.Values(),
			[]string{"contact_name", "tags", "final_tag"}},
		{reports.MessageColumns, reports.MessageRow{Message: conversations.Message{Body: f, MediaURLs: []string{f}, CarrierMessageID: f}, ContactPhone: phone}.Values(),
			[]string{"body", "media_urls", "carrier_message_id"}},
		{reports.OutcomeColumns, reports.OutcomeRow{Outcome: outcomes.Outcome{Notes: f, Record: &outcomes.Record{ExternalID: f, Title: f}},
			ContactPhone: phone, ContactName: f}.Values(),
			[]string{"contact_name", "record_external_id", "record_title", "notes"}},
	} {
		var buf bytes.Buffer
		w, err := export.New(&buf, export.CSV, c.columns)
		if err == nil {
			err = w.Row(c.values)
		}
		if err == nil {
			err = w.Close()
		}
		recs, rerr := csv.NewReader(&buf).ReadAll()
		if err != nil || rerr != nil || len(recs) != 2 {
			t.Fatalf("%v: %v, %v", c.columns, err, rerr)
		}
		var quoted []string
		for i, v := range recs[1] {
			if strings.HasPrefix(v, "'") {
				quoted = append(quoted, recs[0][i])
			}
			if strings.Contains(recs[0][i], "phone") && v != phone {
				t.Errorf("%s = %q; want %s unchanged", recs[0][i], v, phone)
			}
		}
		if !slices.Equal(quoted, c.want) {
			t.Errorf("quoted %v; want %v", quoted, c.want)
		}
	}
}

package reports_test

import (
	"bytes"
	"encoding/csv"
	"net/url"
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

const exportRange = "from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z"

var exportAdmin = conversations.User{ID: 1, AccountID: 7, Role: conversations.RoleAdmin}

// parseExport is ParseExport of report over exportRange and extra.
func parseExport(t *testing.T, report, extra string) (reports.Export, *parley.Error) {
	t.Helper()
	q, err := url.ParseQuery(exportRange + "&" + extra)
	if err != nil {
		t.Fatal(err)
	}
	x, err := reports.ParseExport(report, q, exportAdmin)
	if err == nil {
		return x, nil
	}
	var pe *parley.Error
	if !asError(err, &pe) {
		t.Fatalf("%s?%s: %v; want a parley error", report, extra, err)
	}
	return nil, pe
}

// TestExportRefusesWhatItDoesNotFilterBy: a parameter an export does not
// take is a 422 naming it, with the other bad fields, never a wider file.
func TestExportRefusesWhatItDoesNotFilterBy(t *testing.T) {
	for report, extras := range map[string][]string{
		"outbound_audit": {"inbox_id=3", "limit=10", "cursor=abc", "chanel_id=2"},
		"outcomes":       {"status=open", "direction=inbound", "conversation_id=5"},
		"conversations":  {"campaign_id=4", "direction=inbound", "limit=10"},
		"messages":       {"status=open", "view=all", "assignee_id=8", "tag_id=7"},
	} {
		for _, extra := range extras {
			name, _, _ := strings.Cut(extra, "=")
			_, pe := parseExport(t, report, extra+"&format=csv")
			if pe == nil || pe.Kind != parley.EINVALID || len(pe.Fields) != 1 || !strings.Contains(pe.Fields[name], "not a filter of the "+report+" export") {
				t.Errorf("%s?%s: %v; want 422 naming %s alone", report, extra, pe, name)
			}
		}
	}
	// With the other bad fields, in one answer.
	if _, pe := parseExport(t, "messages", "direction=sideways&status=open&inbox_id=x"); pe == nil ||
		pe.Fields["direction"] == "" || pe.Fields["status"] == "" || pe.Fields["inbox_id"] == "" {
		t.Errorf("messages: %v; want direction, status and inbox_id named", pe)
	}
	// An export that does not exist is still 404.
	if _, pe := parseExport(t, "sends", "status=open"); pe == nil || pe.Kind != parley.ENOTFOUND {
		t.Errorf("sends: %v; want 404", pe)
	}
}

// TestExportReadsEveryParameterItTakes: each parameter an export takes is
// read: malformed, it is named in a 422 (an export that listed a filter
// but ignored it would be as wide as one that took anything).
func TestExportReadsEveryParameterItTakes(t *testing.T) {
	for _, report := range reports.ExportReports {
		params := reports.ExportParams(report)
		if len(params) == 0 || params[0] != "format" {
			t.Fatalf("%s takes %v; want format first", report, params)
		}
		for _, name := range params {
			switch name {
			case "format": // read by the gateway (export.ParseFormat)
				continue
			case "campaign_name": // any text
				if x, pe := parseExport(t, report, "campaign_name=%3Dx"); pe != nil || x.(reports.OutboundFilter).CampaignName != "=x" {
					t.Errorf("%s: campaign_name not read: %v", report, pe)
				}
				continue
			}
			v, _ := url.ParseQuery(exportRange)
			v.Set(name, "bogus!")
			_, err := reports.ParseExport(report, v, exportAdmin)
			var pe *parley.Error
			if !asError(err, &pe) || pe.Kind != parley.EINVALID || pe.Fields[name] == "" || strings.Contains(pe.Fields[name], "not a filter") {
				t.Errorf("%s?%s=bogus!: %v; want 422 saying what %s must be", report, name, err, name)
			}
		}
	}
}

// TestExportChannelAndInbox: conversations and messages take channel_id
// and inbox_id, checked as ids like the reports' filters.
func TestExportChannelAndInbox(t *testing.T) {
	x, pe := parseExport(t, "conversations", "channel_id=2&inbox_id=3")
	if c, ok := x.(reports.ConversationsExport); pe != nil || !ok || c.ChannelID == nil || *c.ChannelID != 2 || c.Filter.InboxID != 3 {
		t.Errorf("conversations: %+v, %v; want channel 2, inbox 3", x, pe)
	}
	x, pe = parseExport(t, "messages", "channel_id=2&inbox_id=3")
	if m, ok := x.(reports.MessagesExport); pe != nil || !ok || m.ChannelID == nil || *m.ChannelID != 2 || m.InboxID == nil || *m.InboxID != 3 {
		t.Errorf("messages: %+v, %v; want channel 2, inbox 3", x, pe)
	}
	for _, report := range []string{"conversations", "messages"} {
		if _, pe := parseExport(t, report, "channel_id=x&inbox_id=-1"); pe == nil || pe.Fields["channel_id"] == "" || pe.Fields["inbox_id"] == "" {
			t.Errorf("%s: %v; want channel_id and inbox_id named", report, pe)
		}
	}
}

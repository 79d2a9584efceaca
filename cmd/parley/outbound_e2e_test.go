package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/reports"
	"github.com/parleyhq/parley/store/storetest"
)

// The outbound report end to end: a scripted world of two campaigns and a
// quick message, sent through the fake carrier on Parley's own clock, then
// answered, assigned, tagged and resolved; every figure and filter of the
// report, its audit and its export read back through the API.

// The world's phones.
const (
	adaPhone = "+14155550301" // both campaigns; answers within the hour; assigned; resolved Sale
	boPhone  = "+14155550302" // the first campaign only; never answers
	cyPhone  = "+14155550303" // the second campaign only; answers 3 h later; resolved Call back
	diPhone  = "+14155550304" // texts first, then gets the quick message in her open thread
)

// outboundStart is when the first campaign goes out; the second campaign
// and the quick message go out ten days later (outboundSecond).
var (
	outboundStart  = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	outboundSecond = outboundStart.Add(10 * 24 * time.Hour)
)

// The report ranges: all of it, and only the second wave (from after the
// first campaign, so that Ada is a recurring contact there).
const (
	wholeRange  = "from=2026-04-30T00:00:00Z&to=2026-05-20T00:00:00Z"
	secondRange = "from=2026-05-06T00:00:00Z&to=2026-05-20T00:00:00Z"
)

// outboundWorld is what scriptOutboundWorld made.
type outboundWorld struct {
	dialect        string
	channel, admin string
	inbox          string            // the channel's
	first, second  string            // the campaigns' ids
	sale, callBack string            // the final tags' ids
	conv           map[string]string // phone → conversation id
	adaReply       time.Time
}

// scriptOutboundWorld plays the world out on clock:
//   - day 0, 09:00: campaign "Spring launch" texts Ada and Bo;
//   - day 10, 08:00: Di texts in (her conversation is open);
//   - day 10, 09:00: campaign "Summer launch" texts Ada and Cy; the admin's
//     quick message texts Di in her open conversation (and takes it);
//   - +30 min Ada answers; +3 h Cy answers; +4 h Ada's conversation is
//     assigned to the admin; +5 h it is resolved with the Sale tag; +6 h
//     Cy's is resolved with Call back.
func scriptOutboundWorld(t *testing.T, e *env, clock *testClock, dialect string) outboundWorld {
	t.Helper()
	ch := e.setupChannel(nil)
	w := outboundWorld{dialect: dialect, channel: ch["id"].(string), inbox: ch["inbox_id"].(string), conv: map[string]string{}}
	w.admin = e.must(200, e.admin("GET", "/v1/me", nil))["id"].(string)
	w.sale = e.must(201, e.admin("POST", "/v1/tags", map[string]any{"name": "Sale", "type": "sale"}))["id"].(string)
	w.callBack = e.must(201, e.admin("POST", "/v1/tags", map[string]any{"name": "Call back", "type": "follow_up"}))["id"].(string)
	e.must(201, e.admin("POST", "/v1/contacts", map[string]any{"name": "Ada Lovelace", "phones": []string{adaPhone}}))

	w.first = e.runCampaign(w.channel, "Spring launch", adaPhone, boPhone)
	w.conv[adaPhone] = e.acceptedThread(clock, adaPhone, 1)
	w.conv[boPhone] = e.acceptedThread(clock, boPhone, 1)

	clock.Advance(outboundSecond.Add(-time.Hour).Sub(clock.Now()))
	e.text(diPhone, "Is my order in?")
	clock.Advance(time.Hour)
	w.second = e.runCampaign(w.channel, "Summer launch", adaPhone, cyPhone)
	e.must(202, e.admin("POST", "/v1/quick-messages", map[string]any{"channel_id": w.channel, "body": "It is, come by", "to": []string{diPhone}}))
	e.acceptedThread(clock, adaPhone, 2)
	w.conv[cyPhone] = e.acceptedThread(clock, cyPhone, 1)
	w.conv[diPhone] = e.acceptedThread(clock, diPhone, 1)

	clock.Advance(30 * time.Minute)
	w.adaReply = clock.Now()
	e.text(adaPhone, "Yes, I want it")
	clock.Advance(150 * time.Minute)
	e.text(cyPhone, "Maybe later")
	clock.Advance(time.Hour)
	e.must(200, e.admin("POST", "/v1/conversations/"+w.conv[adaPhone]+"/assign", map[string]any{"assignee_id": w.admin}))
	clock.Advance(time.Hour)
	e.must(200, e.admin("POST", "/v1/conversations/"+w.conv[adaPhone]+"/resolve", map[string]any{"tag_id": w.sale}))
	clock.Advance(time.Hour)
	e.must(200, e.admin("POST", "/v1/conversations/"+w.conv[cyPhone]+"/resolve", map[string]any{"tag_id": w.callBack}))
	return w
}

// runCampaign creates and starts a campaign texting phones; it returns its id.
func (e *env) runCampaign(channel, name string, phones ...string) string {
	e.t.Helper()
	c := e.must(201, e.admin("POST", "/v1/campaigns", map[string]any{"name": name, "channel_id": channel, "body": "News from us",
		"rate_per_second": 50, "audience": map[string]any{"phones": phones}}))
	e.must(200, e.admin("POST", "/v1/campaigns/"+c["id"].(string)+"/start", nil))
	return c["id"].(string)
}

// acceptedThread waits until the carrier accepted texts outbound texts
// in phone's conversation (sent or delivered) and returns its id. A
// campaign paces its texts on Parley's clock: the clock moves on a little
// while it waits.
func (e *env) acceptedThread(clock *testClock, phone string, texts int) string {
	e.t.Helper()
	var id string
	e.eventually(fmt.Sprintf("%d texts to %s accepted", texts, phone), func() bool {
		clock.Advance(100 * time.Millisecond)
		convs := e.admin("GET", "/v1/conversations?view=all&contact_phone="+url.QueryEscape(phone), nil).Data()
		if len(convs) != 1 {
			return false
		}
		id = convs[0]["id"].(string)
		n := 0
		for _, m := range e.admin("GET", "/v1/conversations/"+id+"/messages?limit=200", nil).Data() {
			if m["direction"] == "outbound" && m["kind"] == "text" && (m["status"] == "sent" || m["status"] == "delivered") {
				n++
			}
		}
		return n == texts
	})
	return id
}

// figures is one group's figures as the report writes them.
func figures(sends, contacts, replied, assigned, sales int) map[string]any {
	return map[string]any{"sends": sends, "contacts": contacts, "replied": replied, "assigned": assigned, "sales": sales}
}

// jsonText is v as encoding/json writes it (maps with sorted keys), so
// that an answer and what it should be compare as text.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func wantSame(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := jsonText(got), jsonText(want); g != w {
		t.Errorf("%s =\n  %s\nwant\n  %s", what, g, w)
	}
}

// totals are the report's headline figures in one line.
func totals(rep map[string]any) string {
	return fmt.Sprintf("sends %v, contacts %v, replied %v, assigned %v, sales %v",
		rep["successful_sends"], rep["total_contacts"], rep["replied"], rep["assigned"], rep["sales"])
}

func funnel(sends, replied, assigned, sales int) []map[string]any {
	return []map[string]any{{"stage": "successful_sends", "count": sends}, {"stage": "replied", "count": replied},
		{"stage": "assigned", "count": assigned}, {"stage": "sales", "count": sales}}
}

// TestOutboundReportEndToEnd: the outbound report's every figure and
// filter over a scripted world, new and recurring contacts across two
// campaigns, a send into an open conversation, the short reply window;
// the audit paged to the summary's count; every export format holding
// the same rows; too_many_rows before any byte of a file.
func TestOutboundReportEndToEnd(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			clock := &testClock{t: outboundStart}
			// 4 rows at most: the second wave (3 sends) exports, the whole
			// range (5) is refused.
			e := boot(t, storetest.URL(t, dialect), withClock(clock), withExportLimit(4))
			w := scriptOutboundWorld(t, e, clock, dialect)
			t.Run("figures", func(t *testing.T) { testOutboundFigures(t, e, w) })
			t.Run("filters", func(t *testing.T) { testOutboundFilters(t, e, w) })
			t.Run("audit", func(t *testing.T) { testOutboundAudit(t, e, w) })
			t.Run("exports", func(t *testing.T) { testOutboundExports(t, e, w) })
			t.Run("refused", func(t *testing.T) { testOutboundRefused(t, e) })
		})
	}
}

func testOutboundFigures(t *testing.T, e *env, w outboundWorld) {
	report := func(q string) map[string]any { return e.must(200, e.admin("GET", "/v1/reports/outbound?"+q, nil)) }

	// The whole range: five sends to four contacts, all new. Ada's first
	// send is a sale (the first episode closed after it is the Sale one)
	// though her answer ten days later is outside its window; Di's
	// conversation had the admin as assignee from the quick message on.
	all := report(wholeRange)
	if got := totals(all); got != "sends 5, contacts 4, replied 2, assigned 2, sales 2" {
		t.Errorf("whole range: %s; want 5 sends to 4 contacts, 2 replied (Ada and Cy to the second wave), 2 assigned (Ada, Di), 2 sales (both of Ada's)", got)
	}
	wantSame(t, "whole range funnel", all["funnel"], funnel(5, 2, 2, 2))
	wantSame(t, "whole range contact_kinds", all["contact_kinds"], map[string]any{"new": 4, "recurring": 0})
	wantSame(t, "whole range by_origin_type", all["by_origin_type"], []map[string]any{
		withFields(figures(4, 3, 2, 1, 2), "origin_type", "campaign"),
		withFields(figures(1, 1, 0, 1, 0), "origin_type", "quick_message"),
	})
	wantSame(t, "whole range by_campaign", all["by_campaign"], []map[string]any{
		withFields(figures(2, 2, 0, 0, 1), "campaign_id", w.first, "name", "Spring launch", "origin_type", "campaign"),
		withFields(figures(2, 2, 2, 1, 1), "campaign_id", w.second, "name", "Summer launch", "origin_type", "campaign"),
	})
	wantSame(t, "whole range final_tags", all["final_tags"], []map[string]any{
		{"tag_id": w.sale, "name": "Sale", "type": "sale", "count": 2},
		{"tag_id": w.callBack, "name": "Call back", "type": "follow_up", "count": 1},
	})

	// The second wave: Ada is recurring (texted before from), Cy and Di new.
	second := report(secondRange)
	if got := totals(second); got != "sends 3, contacts 3, replied 2, assigned 2, sales 1" {
		t.Errorf("second wave: %s", got)
	}
	wantSame(t, "second wave contact_kinds", second["contact_kinds"], map[string]any{"new": 2, "recurring": 1})
	wantSame(t, "second wave by_campaign", second["by_campaign"], []map[string]any{
		withFields(figures(2, 2, 2, 1, 1), "campaign_id", w.second, "name", "Summer launch", "origin_type", "campaign"),
	})
	wantSame(t, "second wave final_tags (a tie: by name)", second["final_tags"], []map[string]any{
		{"tag_id": w.callBack, "name": "Call back", "type": "follow_up", "count": 1},
		{"tag_id": w.sale, "name": "Sale", "type": "sale", "count": 1},
	})
	if second["reply_window_hours"] != 72.0 {
		t.Errorf("reply_window_hours = %v; want the default 72", second["reply_window_hours"])
	}

	// A one-hour window: Ada's answer (30 min) counts, Cy's (3 h) and
	// Ada's assignment (4 h) do not; Di's assignee was there at the send.
	short := report(secondRange + "&reply_window=1")
	if got := totals(short); got != "sends 3, contacts 3, replied 1, assigned 1, sales 1" {
		t.Errorf("reply_window=1: %s; want only Ada's answer and Di's assignee within the hour", got)
	}
	wantSame(t, "reply_window=1 funnel", short["funnel"], funnel(3, 1, 1, 1))

	// Nothing in a range before anything was sent: zeros and empty lists.
	none := report("from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z")
	if got := totals(none); got != "sends 0, contacts 0, replied 0, assigned 0, sales 0" {
		t.Errorf("empty range: %s", got)
	}
	for _, k := range []string{"by_origin_type", "by_campaign", "final_tags"} {
		if jsonText(none[k]) != "[]" {
			t.Errorf("empty range %s = %s; want []", k, jsonText(none[k]))
		}
	}
}

// withFields adds key, value pairs to m.
func withFields(m map[string]any, kv ...string) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func testOutboundFilters(t *testing.T, e *env, w outboundWorld) {
	for _, tc := range []struct {
		query, want string
	}{
		{secondRange + "&origin_type=quick_message", "sends 1, contacts 1, replied 0, assigned 1, sales 0"},
		{secondRange + "&origin_type=campaign", "sends 2, contacts 2, replied 2, assigned 1, sales 1"},
		{secondRange + "&origin_type=webhook", "sends 0, contacts 0, replied 0, assigned 0, sales 0"},
		{wholeRange + "&campaign_id=" + w.first, "sends 2, contacts 2, replied 0, assigned 0, sales 1"},
		{wholeRange + "&campaign_name=SUMMER", "sends 2, contacts 2, replied 2, assigned 1, sales 1"},
		{wholeRange + "&campaign_name=launch", "sends 4, contacts 3, replied 2, assigned 1, sales 2"},
		{wholeRange + "&channel_id=" + w.channel, "sends 5, contacts 4, replied 2, assigned 2, sales 2"},
		{wholeRange + "&channel_id=999999", "sends 0, contacts 0, replied 0, assigned 0, sales 0"},
		{wholeRange + "&tag_type=sale", "sends 2, contacts 1, replied 1, assigned 1, sales 2"},
		{wholeRange + "&tag_type=follow_up", "sends 1, contacts 1, replied 1, assigned 0, sales 0"},
		{wholeRange + "&final_tag_id=" + w.callBack, "sends 1, contacts 1, replied 1, assigned 0, sales 0"},
		{secondRange + "&contact_kind=new", "sends 2, contacts 2, replied 1, assigned 1, sales 0"},
		{secondRange + "&contact_kind=recurring", "sends 1, contacts 1, replied 1, assigned 1, sales 1"},
		{secondRange + "&contact_kind=recurring&reply_window=1", "sends 1, contacts 1, replied 1, assigned 0, sales 1"},
	} {
		rep := e.must(200, e.admin("GET", "/v1/reports/outbound?"+tc.query, nil))
		if got := totals(rep); got != tc.want {
			t.Errorf("%s: %s; want %s", tc.query, got, tc.want)
		}
		// The audit under the same filter has as many rows as sends.
		rows := e.must(200, e.admin("GET", "/v1/reports/outbound/audit?limit=2000&"+tc.query, nil))["data"].([]any)
		if float64(len(rows)) != rep["successful_sends"] {
			t.Errorf("%s: the audit has %d rows, the report %v sends", tc.query, len(rows), rep["successful_sends"])
		}
	}
	recurring := e.must(200, e.admin("GET", "/v1/reports/outbound?"+secondRange+"&contact_kind=recurring", nil))
	wantSame(t, "contact_kind=recurring contact_kinds", recurring["contact_kinds"], map[string]any{"new": 0, "recurring": 1})

	wantAPIError(t, e.admin("GET", "/v1/reports/outbound?to=2026-05-20T00:00:00Z&origin_type=fax&contact_kind=old&reply_window=721&tag_type=won&campaign_id=x", nil),
		422, "validation_failed", "from", "origin_type", "contact_kind", "reply_window", "tag_type", "campaign_id")
	wantAPIError(t, e.admin("GET", "/v1/reports/outbound?"+wholeRange+"&reply_window=0", nil), 422, "", "reply_window")

	_, agentToken, _ := e.addStaff("agent@example.com", "agent", false)
	wantAPIError(t, e.call(agentToken, "GET", "/v1/reports/outbound?"+wholeRange, nil), 403, "")
	wantAPIError(t, e.call(agentToken, "GET", "/v1/reports/outbound/audit?"+wholeRange, nil), 403, "")
	_, viewerToken, _ := e.addStaff("viewer@example.com", "agent", true)
	if got := totals(e.must(200, e.call(viewerToken, "GET", "/v1/reports/outbound?"+wholeRange, nil))); !strings.HasPrefix(got, "sends 5,") {
		t.Errorf("an agent who sees every conversation: %s", got)
	}
}

func testOutboundAudit(t *testing.T, e *env, w outboundWorld) {
	sends := e.must(200, e.admin("GET", "/v1/reports/outbound?"+wholeRange, nil))["successful_sends"]
	pages := e.allPages(e.token, "/v1/reports/outbound/audit?"+wholeRange, 2)
	if got := pageSizes(pages); !slices.Equal(got, []int{2, 2, 1}) {
		t.Errorf("pages of 2 = %v; want 2, 2, 1", got)
	}
	var rows []map[string]any
	for _, p := range pages {
		rows = append(rows, p.Data...)
	}
	if float64(len(rows)) != sends {
		t.Fatalf("the audit has %d rows, the report %v sends", len(rows), sends)
	}
	seen := map[string]bool{}
	for i, r := range rows {
		if seen[r["send_id"].(string)] {
			t.Errorf("send %v twice across pages", r["send_id"])
		}
		seen[r["send_id"].(string)] = true
		if i > 0 && sentAt(t, r).Before(sentAt(t, rows[i-1])) {
			t.Errorf("row %d sent %v, before row %d's %v", i, r["sent_at"], i-1, rows[i-1]["sent_at"])
		}
	}
	one := e.admin("GET", "/v1/reports/outbound/audit?"+wholeRange, nil)
	if n := len(one.Data()); n != 5 || !strings.Contains(string(one.Body), `"next_cursor":null`) {
		t.Errorf("without limit: %d rows, %s; want all 5 on one page (100 by default) and next_cursor null", n, one.Body)
	}

	byPhoneCampaign := map[string]map[string]any{}
	for _, r := range rows {
		byPhoneCampaign[fmt.Sprint(r["phone"], "/", r["campaign_name"])] = r
	}
	adaSecond := byPhoneCampaign[adaPhone+"/Summer launch"]
	want := map[string]any{"campaign_id": w.second, "campaign_name": "Summer launch", "origin_type": "campaign", "channel_id": w.channel,
		"contact_name": "Ada Lovelace", "phone": adaPhone, "replied_at": w.adaReply.Format(time.RFC3339Nano), "assignee_id": w.admin,
		"final_tag": "Sale", "final_tag_type": "sale", "sale": true, "contact_kind": "new", "conversation_id": w.conv[adaPhone]}
	for k, v := range want {
		if adaSecond[k] != v {
			t.Errorf("Ada's Summer launch row: %s = %v; want %v (row %v)", k, adaSecond[k], v, adaSecond)
		}
	}
	if !sentWithinAMinute(adaSecond, outboundSecond) {
		t.Errorf("Ada's Summer launch row: sent_at %v; want the minute after %v", adaSecond["sent_at"], outboundSecond)
	}
	if st := adaSecond["status"]; st != "sent" && st != "delivered" {
		t.Errorf("Ada's Summer launch row: status %v; want sent or delivered", st)
	}
	adaFirst := byPhoneCampaign[adaPhone+"/Spring launch"]
	if adaFirst["replied_at"] != nil || adaFirst["assignee_id"] != nil || adaFirst["sale"] != true || adaFirst["final_tag"] != "Sale" ||
		!sentWithinAMinute(adaFirst, outboundStart) {
		t.Errorf("Ada's Spring launch row = %v; want no reply nor assignee within its window, yet a sale", adaFirst)
	}
	quick := byPhoneCampaign[diPhone+"/<nil>"]
	if quick["campaign_id"] != nil || quick["origin_type"] != "quick_message" || quick["assignee_id"] != w.admin ||
		quick["replied_at"] != nil || quick["final_tag"] != nil || quick["sale"] != false || quick["conversation_id"] != w.conv[diPhone] {
		t.Errorf("Di's quick message row = %v", quick)
	}
	if bo := byPhoneCampaign[boPhone+"/Spring launch"]; bo["final_tag"] != nil || bo["final_tag_type"] != nil || bo["contact_name"] != "" {
		t.Errorf("Bo's row = %v; want no final tag", bo)
	}

	// The second wave's audit under the short window: its marks are the
	// report's figures.
	short := e.must(200, e.admin("GET", "/v1/reports/outbound/audit?"+secondRange+"&reply_window=1", nil))["data"].([]any)
	replied, assigned, recurring := 0, 0, 0
	for _, r := range short {
		r := r.(map[string]any)
		if r["replied_at"] != nil {
			replied++
		}
		if r["assignee_id"] != nil {
			assigned++
		}
		if r["contact_kind"] == "recurring" {
			recurring++
		}
	}
	if len(short) != 3 || replied != 1 || assigned != 1 || recurring != 1 {
		t.Errorf("second wave, reply_window=1: %d rows, %d replied, %d assigned, %d recurring; want 3, 1, 1, 1", len(short), replied, assigned, recurring)
	}

	wantAPIError(t, e.admin("GET", "/v1/reports/outbound/audit?"+wholeRange+"&limit=2001", nil), 422, "", "limit")
	wantAPIError(t, e.admin("GET", "/v1/reports/outbound/audit?"+wholeRange+"&limit=0&cursor=nope", nil), 422, "", "limit", "cursor")
	wantAPIError(t, e.admin("GET", "/v1/reports/outbound/audit?limit=5000", nil), 422, "", "from", "to", "limit")
	e.must(200, e.admin("GET", "/v1/reports/outbound/audit?"+wholeRange+"&limit=2000", nil))
}

// sentAt is an audit row's sent_at.
func sentAt(t *testing.T, row map[string]any) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(row["sent_at"]))
	if err != nil {
		t.Fatalf("sent_at: %v", err)
	}
	return at
}

// sentWithinAMinute tells whether an audit row's send was accepted in the
// minute after at (the campaigns pace their texts on Parley's clock,
// which the test moves on a little while it waits).
func sentWithinAMinute(row map[string]any, at time.Time) bool {
	sent, err := time.Parse(time.RFC3339Nano, fmt.Sprint(row["sent_at"]))
	return err == nil && !sent.Before(at) && sent.Before(at.Add(time.Minute))
}

// exportFile downloads an export as the admin, checking it is offered as
// the named file.
func (e *env) exportFile(t *testing.T, report, format, query, wantName string) []byte {
	t.Helper()
	r := e.admin("GET", "/v1/exports/"+report+"?format="+format+"&"+query, nil)
	e.must(200, r)
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="`+wantName+`"` {
		t.Errorf("%s %s: Content-Disposition = %q; want %s", report, format, cd, wantName)
	}
	return r.Body
}

// exportRows reads an export file of any format into rows keyed by column.
func exportRows(t *testing.T, format string, body []byte) []map[string]string {
	t.Helper()
	var rows []map[string]string
	switch format {
	case "csv":
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil || len(recs) == 0 {
			t.Fatalf("csv: %v (%d lines)", err, len(recs))
		}
		for _, rec := range recs[1:] {
			rows = append(rows, zipRow(recs[0], rec))
		}
	case "json":
		var objs []map[string]any
		if err := json.Unmarshal(body, &objs); err != nil {
			t.Fatalf("json: %v: %s", err, body)
		}
		for _, o := range objs {
			rows = append(rows, textValues(o))
		}
	case "ndjson":
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			var o map[string]any
			if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
				t.Fatalf("ndjson line %q: %v", sc.Text(), err)
			}
			rows = append(rows, textValues(o))
		}
	case "xlsx":
		sheet := xlsxSheet(t, body)
		if len(sheet) == 0 {
			t.Fatal("xlsx: no header row")
		}
		for _, rec := range sheet[1:] {
			rows = append(rows, zipRow(sheet[0], rec))
		}
	}
	return rows
}

func zipRow(header, rec []string) map[string]string {
	m := map[string]string{}
	for i, c := range header {
		if i < len(rec) {
			m[c] = rec[i]
		}
	}
	return m
}

// textValues is a JSON row's values as text ("" for null).
func textValues(o map[string]any) map[string]string {
	m := map[string]string{}
	for k, v := range o {
		if v != nil {
			m[k] = fmt.Sprint(v)
		} else {
			m[k] = ""
		}
	}
	return m
}

// xlsxSheet reads the first sheet of a workbook into rows of cell texts,
// each cell at the column its reference names (empty cells are left out
// of the file).
func xlsxSheet(t *testing.T, body []byte) [][]string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("xlsx is not a zip: %v", err)
	}
	var sheet struct {
		Rows []struct {
			Cells []struct {
				Ref  string `xml:"r,attr"`
				Text string `xml:"is>t"`
				V    string `xml:"v"`
			} `xml:"c"`
		} `xml:"sheetData>row"`
	}
	f, err := z.Open("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	raw, _ := io.ReadAll(f)
	if err := xml.Unmarshal(raw, &sheet); err != nil {
		t.Fatalf("xlsx sheet: %v", err)
	}
	var out [][]string
	for _, r := range sheet.Rows {
		var row []string
		for _, c := range r.Cells {
			col := 0
			for _, ch := range strings.TrimRight(c.Ref, "0123456789") {
				col = col*26 + int(ch-'A'+1)
			}
			for len(row) < col {
				row = append(row, "")
			}
			row[col-1] = c.Text + c.V
		}
		out = append(out, row)
	}
	return out
}

func testOutboundExports(t *testing.T, e *env, w outboundWorld) {
	sends := e.must(200, e.admin("GET", "/v1/reports/outbound?"+secondRange, nil))["successful_sends"]
	var auditIDs []string
	for _, r := range e.admin("GET", "/v1/reports/outbound/audit?"+secondRange, nil).Data() {
		auditIDs = append(auditIDs, r["send_id"].(string))
	}
	if float64(len(auditIDs)) != sends {
		t.Fatalf("audit %d rows, report %v sends", len(auditIDs), sends)
	}
	for _, format := range []string{"csv", "json", "ndjson", "xlsx"} {
		body := e.exportFile(t, "outbound_audit", format, secondRange, "outbound_audit-20260506-20260520."+format)
		rows := exportRows(t, format, body)
		var ids []string
		for _, r := range rows {
			ids = append(ids, r["send_id"])
		}
		if !slices.Equal(ids, auditIDs) {
			t.Errorf("%s: send ids %v; want the audit's %v", format, ids, auditIDs)
		}
		for _, r := range rows {
			if len(r) != len(reports.AuditColumns) {
				t.Errorf("%s: row has columns %v; want %v", format, r, reports.AuditColumns)
				break
			}
		}
		for _, r := range rows {
			if r["phone"] == adaPhone && (r["final_tag"] != "Sale" || r["contact_kind"] != "recurring" || r["assignee_id"] != w.admin) {
				t.Errorf("%s: Ada's row = %v", format, r)
			}
		}
		if format == "xlsx" && w.dialect == "sqlite" { // the file is the same on both
			checkOpensInLibreOffice(t, body, len(rows))
		}
	}
	// The same filters as the report.
	if rows := exportRows(t, "csv", e.exportFile(t, "outbound_audit", "csv", secondRange+"&contact_kind=new&reply_window=1", "outbound_audit-20260506-20260520.csv")); len(rows) != 2 {
		t.Errorf("contact_kind=new: %d rows; want Cy's and Di's", len(rows))
	}

	// The other reports go through the same path.
	convs := exportRows(t, "csv", e.exportFile(t, "conversations", "csv", wholeRange+"&final_tag_type=sale", "conversations-20260430-20260520.csv"))
	if len(convs) != 1 || convs[0]["conversation_id"] != w.conv[adaPhone] || convs[0]["final_tag"] != "Sale" {
		t.Errorf("conversations closed with a sale = %v; want Ada's", convs)
	}
	msgs := exportRows(t, "ndjson", e.exportFile(t, "messages", "ndjson", secondRange+"&campaign_id="+w.second, "messages-20260506-20260520.ndjson"))
	if len(msgs) != 2 || msgs[0]["direction"] != "outbound" {
		t.Errorf("the Summer launch's messages = %v; want its two texts", msgs)
	}
	// channel_id and inbox_id filter the conversations and the messages
	// too: another's give nothing, never the whole range.
	const nobody = "999999"
	if convs := exportRows(t, "json", e.exportFile(t, "conversations", "json", wholeRange+"&channel_id="+w.channel+"&inbox_id="+w.inbox, "conversations-20260430-20260520.json")); len(convs) != 4 {
		t.Errorf("the channel's conversations = %d; want all 4", len(convs))
	}
	for _, q := range []string{"&channel_id=" + nobody, "&inbox_id=" + nobody} {
		if convs := exportRows(t, "json", e.exportFile(t, "conversations", "json", wholeRange+q, "conversations-20260430-20260520.json")); len(convs) != 0 {
			t.Errorf("conversations%s = %v; want none", q, convs)
		}
	}
	if msgs := exportRows(t, "csv", e.exportFile(t, "messages", "csv", secondRange+"&campaign_id="+w.second+"&inbox_id="+w.inbox, "messages-20260506-20260520.csv")); len(msgs) != 2 {
		t.Errorf("the Summer launch's messages in the inbox = %v; want its two texts", msgs)
	}
	if msgs := exportRows(t, "csv", e.exportFile(t, "messages", "csv", wholeRange+"&inbox_id="+nobody, "messages-20260430-20260520.csv")); len(msgs) != 0 {
		t.Errorf("messages of another inbox = %v; want none", msgs)
	}
	empty := e.exportFile(t, "outcomes", "csv", wholeRange, "outcomes-20260430-20260520.csv")
	if rows := exportRows(t, "csv", empty); len(rows) != 0 || !strings.HasPrefix(string(empty), "outcome_id,") {
		t.Errorf("outcomes with none recorded = %q; want the header alone", empty)
	}
}

// checkOpensInLibreOffice converts the workbook to CSV with LibreOffice,
// when it is installed, and counts its rows: the file opens in a real
// spreadsheet, not only in our reader.
func checkOpensInLibreOffice(t *testing.T, xlsx []byte, rows int) {
	t.Helper()
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Log("LibreOffice (soffice) is not installed: the XLSX was read with archive/zip only")
		return
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "audit.xlsx")
	if err := os.WriteFile(in, xlsx, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice, "--headless", "-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--convert-to", "csv", "--outdir", dir, in)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "audit.csv"))
	if err != nil {
		t.Fatalf("soffice wrote no CSV: %v", err)
	}
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil || len(recs) != rows+1 || recs[0][0] != "send_id" {
		t.Errorf("LibreOffice read %d lines (%v); want a header and %d rows", len(recs), err, rows)
	}
}

func testOutboundRefused(t *testing.T, e *env) {
	for _, format := range []string{"csv", "xlsx", "json", "ndjson"} {
		r := e.admin("GET", "/v1/exports/outbound_audit?format="+format+"&"+wholeRange, nil)
		wantAPIError(t, r, 422, "too_many_rows")
		if cd := r.Header.Get("Content-Disposition"); cd != "" {
			t.Errorf("%s: a refused export was offered as a file: %q", format, cd)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: the refusal is %q; want the API's JSON error and no byte of a file", format, ct)
		}
	}
	wantAPIError(t, e.admin("GET", "/v1/exports/sends?format=csv&"+wholeRange, nil), 404, "")
	wantAPIError(t, e.admin("GET", "/v1/exports/outbound_audit?format=pdf&to=2026-05-20T00:00:00Z&contact_kind=old", nil), 422, "", "format", "from", "contact_kind")
	wantAPIError(t, e.admin("GET", "/v1/exports/messages?format=csv&"+wholeRange+"&direction=sideways", nil), 422, "", "direction")
	wantAPIError(t, e.admin("GET", "/v1/exports/conversations?format=csv&"+wholeRange+"&q=ada", nil), 422, "", "q")
	// A filter an export does not take is named, never ignored.
	wantAPIError(t, e.admin("GET", "/v1/exports/conversations?format=csv&"+wholeRange+"&campaign_id=1&channel_id=x", nil), 422, "validation_failed", "campaign_id", "channel_id")
	wantAPIError(t, e.admin("GET", "/v1/exports/messages?format=csv&"+wholeRange+"&inbox_id=x&status=open", nil), 422, "validation_failed", "inbox_id", "status")
	wantAPIError(t, e.admin("GET", "/v1/exports/outbound_audit?format=csv&"+wholeRange+"&inbox_id=1", nil), 422, "validation_failed", "inbox_id")
	wantAPIError(t, e.admin("GET", "/v1/exports/outcomes?format=csv&"+wholeRange+"&chanel_id=1", nil), 422, "validation_failed", "chanel_id")
}

// TestExportDownloadCancelled: a client that closes a large download
// midway ends the request at once (the server does not go on reading
// the rows for nobody), and the server serves on.
func TestExportDownloadCancelled(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := boot(t, storetest.URL(t, dialect))
			e.setupChannel(nil)
			e.text("+14155550311", "hello")
			e.eventually("the conversation", func() bool { return len(e.admin("GET", "/v1/conversations", nil).Data()) == 1 })
			const copies = 200_000
			db := e.rawSQL()
			at := time.Now().UnixMilli()
			if _, err := db.Exec(db.Rebind(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO messages (account_id, conversation_id, channel_id, direction, kind, body, status, created_at, updated_at)
SELECT m.account_id, m.conversation_id, m.channel_id, m.direction, m.kind, m.body, m.status, ?, ?
FROM n, (SELECT * FROM messages WHERE direction = 'inbound' LIMIT 1) m`), copies, at, at); err != nil {
				t.Fatal(err)
			}
			from := time.UnixMilli(at).UTC().Add(-time.Hour).Format(time.RFC3339)
			to := time.UnixMilli(at).UTC().Add(time.Hour).Format(time.RFC3339)
			path := "/v1/exports/messages?format=csv&from=" + from + "&to=" + to

			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", e.base+path, nil)
			req.Header.Set("Authorization", "Bearer "+e.token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if _, err := io.ReadFull(res.Body, make([]byte, 64<<10)); err != nil {
				t.Fatalf("the first 64 KiB: %v", err)
			}
			cancel()
			res.Body.Close()

			// The access log line is written when the handler returns.
			var size int
			e.eventually("the export request to end", func() bool {
				for _, line := range strings.Split(e.logs.String(), "\n") {
					var l struct {
						Message string `json:"message"`
						Path    string `json:"path"`
						Size    int    `json:"size"`
					}
					if json.Unmarshal([]byte(line), &l) == nil && l.Message == "request" && l.Path == "/v1/exports/messages" {
						size = l.Size
						return true
					}
				}
				return false
			})
			if size >= copies*20 {
				t.Errorf("the server wrote %d bytes for a client that left after 64 KiB; want it to stop", size)
			}
			if strings.Contains(e.logs.String(), `"export cut short"`) {
				t.Error("a client that left was logged as a failed export")
			}
			e.must(200, e.admin("GET", "/healthz", nil))
			e.text("+14155550312", "still there?")
			e.eventually("the next text stored", func() bool { return len(e.admin("GET", "/v1/conversations", nil).Data()) == 2 })
			small := e.admin("GET", "/v1/exports/conversations?format=json&from="+from+"&to="+to, nil)
			e.must(200, small)
		})
	}
}

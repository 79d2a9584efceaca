package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/routing"
)

// The routing table editor is one form without script: each entry is a
// fieldset whose fields are named entries[i].…, and the Add entry,
// Remove and Move up buttons post the form to have it rendered again,
// changed, with what was typed kept.

// maxFormEntries bounds the entries a posted form may hold (routing
// refuses more than 100 when the table is saved).
const maxFormEntries = 101

// entryField splits "entries[2].user_ids" into 2 and "user_ids": the
// form's field names and routing's error fields both read so.
var entryField = regexp.MustCompile(`^entries\[(\d{1,3})\]\.(.+)$`)

// entryForm is one entry as the form shows it.
type entryForm struct {
	Index       int
	ContactType string
	InboxID     string
	ChannelID   string
	// Attributes are "name = value" lines.
	Attributes string
	UserIDs    []parley.ID
	Strategy   string
	Capacity   string
	// Pool is every user of the account, the entry's own first in their
	// order (priority tries them so), each with whether it is in it.
	Pool   []poolMember
	Errors []string
}

type poolMember struct {
	conversations.User
	In bool
}

// Number is the entry's place counted from 1; routing's explanations
// count from 0 (entries[0]).
func (e entryForm) Number() int { return e.Index + 1 }

func blankEntry(i int, dir routing.Directory) entryForm {
	e := entryForm{Index: i, Strategy: string(routing.RoundRobin)}
	e.Pool = pool(nil, dir)
	return e
}

// entryFormOf shows a saved entry.
func entryFormOf(i int, e routing.Entry, dir routing.Directory) entryForm {
	f := entryForm{Index: i, ContactType: e.Conditions.ContactType, UserIDs: e.UserIDs, Strategy: string(e.Strategy),
		Attributes: formatAttributes(e.Conditions.Attributes)}
	if e.Conditions.InboxID != nil {
		f.InboxID = e.Conditions.InboxID.String()
	}
	if e.Conditions.ChannelID != nil {
		f.ChannelID = e.Conditions.ChannelID.String()
	}
	if e.Capacity != nil {
		f.Capacity = strconv.Itoa(*e.Capacity)
	}
	f.Pool = pool(e.UserIDs, dir)
	return f
}

// pool lists the users in ids, in that order, then the account's others.
func pool(ids []parley.ID, dir routing.Directory) []poolMember {
	var in, out []poolMember
	for _, id := range ids {
		for _, u := range dir.Users {
			if u.ID == id {
				in = append(in, poolMember{User: u, In: true})
			}
		}
	}
	for _, u := range dir.Users {
		if !slices.Contains(ids, u.ID) {
			out = append(out, poolMember{User: u})
		}
	}
	return append(in, out...)
}

// entriesFromForm reads the posted entries, in their indices' order.
func entriesFromForm(form url.Values, dir routing.Directory) []entryForm {
	seen := map[int]bool{}
	for k := range form {
		if m := entryField.FindStringSubmatch(k); m != nil {
			if i, err := strconv.Atoi(m[1]); err == nil && i < maxFormEntries {
				seen[i] = true
			}
		}
	}
	indices := make([]int, 0, len(seen))
	for i := range seen {
		indices = append(indices, i)
	}
	sort.Ints(indices)
	out := make([]entryForm, 0, len(indices))
	for n, i := range indices {
		p := fmt.Sprintf("entries[%d].", i)
		e := entryForm{Index: n, ContactType: form.Get(p + "contact_type"), InboxID: form.Get(p + "inbox_id"),
			ChannelID: form.Get(p + "channel_id"), Attributes: form.Get(p + "attributes"),
			Strategy: form.Get(p + "strategy"), Capacity: form.Get(p + "capacity")}
		for _, raw := range form[p+"user_ids"] {
			// The checkboxes carry ids this page wrote: another value is a
			// forged form, and is dropped.
			if id, err := parley.ParseID(raw); err == nil && !slices.Contains(e.UserIDs, id) {
				e.UserIDs = append(e.UserIDs, id)
			}
		}
		e.Pool = pool(e.UserIDs, dir)
		out = append(out, e)
	}
	return out
}

// editAction applies the Add entry, Remove and Move up buttons; false
// for Save.
func (ed *tableEditor) editAction(action string) bool {
	verb, arg, _ := strings.Cut(action, ":")
	i, err := strconv.Atoi(arg)
	ok := err == nil && i >= 0 && i < len(ed.Entries)
	switch {
	case verb == "add":
		if len(ed.Entries) < maxFormEntries {
			ed.Entries = append(ed.Entries, blankEntry(len(ed.Entries), ed.Dir))
		}
	case verb == "remove" && ok:
		ed.Entries = slices.Delete(ed.Entries, i, i+1)
	case verb == "up" && ok && i > 0:
		ed.Entries[i-1], ed.Entries[i] = ed.Entries[i], ed.Entries[i-1]
	case verb == "remove" || verb == "up":
	default:
		return false
	}
	for n := range ed.Entries {
		ed.Entries[n].Index = n
	}
	return true
}

// entry is the routing entry the form describes; what does not parse is
// added to fields under routing's names for it.
func (e entryForm) entry(fields map[string]string) routing.Entry {
	name := fmt.Sprintf("entries[%d]", e.Index)
	out := routing.Entry{Strategy: routing.Strategy(e.Strategy), UserIDs: e.UserIDs}
	out.Conditions.ContactType = strings.TrimSpace(e.ContactType)
	out.Conditions.InboxID = formID(e.InboxID, name+".conditions.inbox_id", "no such inbox", fields)
	out.Conditions.ChannelID = formID(e.ChannelID, name+".conditions.channel_id", "no such channel", fields)
	if c := strings.TrimSpace(e.Capacity); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			fields[name+".capacity"] = "must be a whole number (leave it empty for no limit)"
		} else {
			out.Capacity = &n
		}
	}
	attrs, err := parseAttributes(e.Attributes)
	if err != nil {
		fields[name+".conditions.attributes"] = err.Error()
	}
	out.Conditions.Attributes = attrs
	return out
}

// formID reads a picked id; "" is none.
func formID(raw, field, problem string, fields map[string]string) *parley.ID {
	if raw == "" {
		return nil
	}
	id, err := parley.ParseID(raw)
	if err != nil {
		fields[field] = problem
		return nil
	}
	return &id
}

// parseAttributes reads "name = value" lines. A value that reads as JSON
// (a number, true, a ["list"], a "quoted string") is that; any other is
// the text as typed.
func parseAttributes(text string) (map[string]any, error) {
	var out map[string]any
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("line %d: write each condition as name = value", n+1)
		}
		if out == nil {
			out = map[string]any{}
		}
		out[k] = attributeValue(v)
	}
	return out, nil
}

func attributeValue(v string) any {
	var x any
	if json.Unmarshal([]byte(v), &x) == nil {
		switch x.(type) {
		case float64, bool, string, []any:
			return x
		}
	}
	return v
}

// formatAttributes writes attributes as parseAttributes reads them.
func formatAttributes(attrs map[string]any) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := attrs[k]
		text, isText := v.(string)
		if !isText || attributeValue(text) != v {
			raw, _ := json.Marshal(v)
			text = string(raw)
		}
		fmt.Fprintf(&b, "%s = %s\n", k, text)
	}
	return b.String()
}

// showErrors puts each problem of a table that was not saved beside the
// entry it is about, and the others at the top.
func (ed *tableEditor) showErrors(err error) {
	var pe *parley.Error
	if !errors.As(err, &pe) || len(pe.Fields) == 0 {
		ed.Errors = append(ed.Errors, errorText(err))
		return
	}
	keys := make([]string, 0, len(pe.Fields))
	for k := range pe.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		msg := pe.Fields[k]
		if m := entryField.FindStringSubmatch(k); m != nil {
			if i, err := strconv.Atoi(m[1]); err == nil && i < len(ed.Entries) {
				ed.Entries[i].Errors = append(ed.Entries[i].Errors, fieldLabel(m[2])+": "+entryWords(msg))
				continue
			}
		}
		label := fieldLabel(k)
		if entryName.MatchString(k) {
			label = humanField(k)
		}
		ed.Errors = append(ed.Errors, label+": "+entryWords(msg))
	}
}

// fieldLabel names a field of routing's errors as the form labels it.
func fieldLabel(field string) string {
	switch {
	case field == "":
		return "Table"
	case field == "user_ids":
		return "Pool"
	case field == "conditions.inbox_id":
		return "Inbox"
	case field == "conditions.channel_id":
		return "Channel"
	case strings.HasPrefix(field, "conditions.attributes."):
		return "Attribute " + strings.TrimPrefix(field, "conditions.attributes.")
	case field == "conditions.attributes":
		return "Attributes"
	}
	return strings.ToUpper(field[:1]) + strings.ReplaceAll(field[1:], "_", " ")
}

// TypeNames are the contact types an entry may name: the account's, and
// the entry's own when it names one that no longer exists.
func (ed tableEditor) TypeNames(current string) []string {
	var names []string
	for _, c := range ed.ContactTypes {
		names = append(names, c.Name)
	}
	if current != "" && !slices.Contains(names, current) {
		names = append(names, current)
	}
	return names
}

// Invalid reports whether the table came back refused.
func (ed tableEditor) Invalid() bool {
	if len(ed.Errors) > 0 {
		return true
	}
	for _, e := range ed.Entries {
		if len(e.Errors) > 0 {
			return true
		}
	}
	return false
}

// StrategyLabel says what a strategy does, for the form.
func (ed tableEditor) StrategyLabel(s routing.Strategy) string { return strategyLabel(s) }

func strategyLabel(s routing.Strategy) string {
	switch s {
	case routing.RoundRobin:
		return "Round robin: take turns"
	case routing.LeastBusy:
		return "Least busy: fewest new and open conversations"
	case routing.Priority:
		return "Priority: the first available, in the pool's order"
	}
	return string(s)
}

package reports

import (
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/reports/export"
)

// OutcomeColumns are the outcomes export's columns, in order.
var OutcomeColumns = []string{"outcome_id", "created_at", "type", "conversation_id", "contact_phone", "contact_name",
	"amount", "currency", "record_id", "record_type", "record_external_id", "record_title",
	"inbox_id", "channel_id", "origin", "campaign_id", "source", "created_by", "notes", "metadata"}

// Values is the row's values in OutcomeColumns' order: ids as strings
// (as the API writes them), the amount the report counts as a decimal
// string, the metadata as JSON text, what people wrote (names, notes, the
// record's id and title) as export.Text.
func (r OutcomeRow) Values() []any {
	o := r.Outcome
	var amount, currency any
	if m := o.ReportAmount(); m != nil {
		amount, currency = m.String(), m.Currency
	}
	var recID, recType, recExt, recTitle any
	if rec := o.Record; rec != nil {
		recID, recType, recExt, recTitle = rec.ID.String(), string(rec.Type), export.Text(rec.ExternalID), export.Text(rec.Title)
	}
	return []any{o.ID.String(), o.CreatedAt, string(o.Type), o.ConversationID.String(), r.ContactPhone, export.Text(r.ContactName),
		amount, currency, recID, recType, recExt, recTitle,
		idText(r.InboxID), idText(r.ChannelID), string(r.Origin), idText(r.CampaignID), string(o.Source), idText(o.CreatedBy),
		export.Text(o.Notes), metadataText(o.Metadata)}
}

func idText(id *parley.ID) any {
	if id == nil {
		return nil
	}
	return id.String()
}

// metadataText marks metadata as JSON, so the JSON exports embed the
// object rather than a string of it.
func metadataText(m []byte) export.JSONText {
	if len(m) == 0 {
		return export.JSONText(`{}`)
	}
	return export.JSONText(m)
}

package store

import (
	"testing"

	"github.com/parleyhq/parley/events"
)

// An announcement between instances says how many deliveries its
// transaction booked; one from a version that did not say is read as
// unknown, which wakes the deliverer as before.
func TestParseAnnouncement(t *testing.T) {
	tests := []struct {
		payload string
		want    events.Announcement
		bad     bool
	}{
		{payload: "7:10:12:3", want: events.Announcement{AccountID: 7, First: 10, Last: 12, Deliveries: 3}},
		{payload: "7:10:12:0", want: events.Announcement{AccountID: 7, First: 10, Last: 12}},
		{payload: "7:10:12", want: events.Announcement{AccountID: 7, First: 10, Last: 12, Deliveries: events.DeliveriesUnknown}},
		{payload: "7:10", bad: true},
		{payload: "7:10:12:x", bad: true},
	}
	for _, tt := range tests {
		got, err := parseAnnouncement(tt.payload)
		if (err != nil) != tt.bad {
			t.Errorf("parseAnnouncement(%q) error %v, want error %v", tt.payload, err, tt.bad)
			continue
		}
		if !tt.bad && (got.AccountID != tt.want.AccountID || got.First != tt.want.First || got.Last != tt.want.Last || got.Deliveries != tt.want.Deliveries) {
			t.Errorf("parseAnnouncement(%q) = %+v, want %+v", tt.payload, got, tt.want)
		}
	}
}

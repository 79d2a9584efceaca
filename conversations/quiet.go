package conversations

import (
	"fmt"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/parleyhq/parley"
)

// QuietHours is a local-time window in which no campaign text goes out
// (e.g. 21:00–08:00). Replies and confirmations are not campaign texts and
// are never held.
type QuietHours struct {
	Start    string `json:"start"`    // "HH:MM"
	End      string `json:"end"`      // "HH:MM"; before Start: the window spans midnight
	Timezone string `json:"timezone"` // IANA name: the account's zone, for numbers that tell none
}

// Validate checks the window.
func (q QuietHours) Validate() error {
	fields := map[string]string{}
	if _, err := clockMinutes(q.Start); err != nil {
		fields["quiet_hours.start"] = "must be HH:MM"
	}
	if _, err := clockMinutes(q.End); err != nil {
		fields["quiet_hours.end"] = "must be HH:MM"
	}
	if q.Start == q.End {
		fields["quiet_hours.end"] = "must differ from start"
	}
	if _, err := time.LoadLocation(q.Timezone); err != nil || q.Timezone == "" {
		fields["quiet_hours.timezone"] = "must be an IANA time zone, e.g. America/New_York"
	}
	if len(fields) > 0 {
		return parley.Invalid(fields)
	}
	return nil
}

func clockMinutes(s string) (int, error) {
	var h, m int
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || n != 2 || len(s) != 5 || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, fmt.Errorf("not HH:MM: %q", s)
	}
	return h*60 + m, nil
}

// QuietFor reports whether now is inside the window for phone: in the
// phone's own time zone when its number maps to exactly one, otherwise in
// the account's.
func (q QuietHours) QuietFor(now time.Time, phone string) bool {
	start, err1 := clockMinutes(q.Start)
	end, err2 := clockMinutes(q.End)
	if err1 != nil || err2 != nil {
		return false
	}
	local := now.In(q.zoneFor(phone))
	m := local.Hour()*60 + local.Minute()
	if start < end {
		return m >= start && m < end
	}
	return m >= start || m < end // spans midnight
}

func (q QuietHours) zoneFor(phone string) *time.Location {
	if num, err := phonenumbers.Parse(phone, DefaultRegion); err == nil {
		if zones, err := phonenumbers.GetTimezonesForNumber(num); err == nil && len(zones) == 1 {
			if loc, err := time.LoadLocation(zones[0]); err == nil {
				return loc
			}
		}
	}
	if loc, err := time.LoadLocation(q.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

package conversations

import (
	"testing"
	"time"
)

func TestQuietHours(t *testing.T) {
	night := QuietHours{Start: "21:00", End: "08:00", Timezone: "America/New_York"}
	lunch := QuietHours{Start: "12:00", End: "13:00", Timezone: "Europe/London"}
	utc := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	tests := []struct {
		name  string
		q     QuietHours
		now   time.Time
		phone string
		want  bool
	}{
		{"New York number at 22:00 New York time", night, utc("2026-06-02T02:00:00Z"), "+12125550100", true},
		{"New York number at 10:00 New York time", night, utc("2026-06-02T14:00:00Z"), "+12125550100", false},
		{"the window ends at 08:00 sharp", night, utc("2026-06-02T12:00:00Z"), "+12125550100", false},
		{"a California number follows its own clock (20:00 there)", night, utc("2026-06-02T03:00:00Z"), "+14155550100", false},
		{"the same instant is 23:00 in New York", night, utc("2026-06-02T03:00:00Z"), "+12125550100", true},
		{"a UK number in a daytime window", lunch, utc("2026-01-05T12:30:00Z"), "+442079460958", true},
		{"an unparseable phone uses the account's zone", night, utc("2026-06-02T02:00:00Z"), "not a phone", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.QuietFor(tt.now, tt.phone); got != tt.want {
				t.Errorf("QuietFor = %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []QuietHours{{Start: "9pm", End: "08:00", Timezone: "UTC"}, {Start: "21:00", End: "21:00", Timezone: "UTC"},
		{Start: "21:00", End: "08:00", Timezone: "Mars/Olympus"}, {Start: "24:00", End: "08:00", Timezone: "UTC"}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
	if err := night.Validate(); err != nil {
		t.Errorf("valid window refused: %v", err)
	}
}

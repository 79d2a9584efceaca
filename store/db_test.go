package store

import "testing"

func TestPoolSizeParameter(t *testing.T) {
	tests := []struct {
		url, wantURL string
		want         int
		ok           bool
	}{
		{"postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable", defaultMaxConns, true},
		{"postgres://u@h/db?parley_max_conns=8&sslmode=disable", "postgres://u@h/db?sslmode=disable", 8, true},
		{"postgres://u@h/db?parley_max_conns=0", "", 0, false},
		{"postgres://u@h/db?parley_max_conns=lots", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, n, err := poolSize(tt.url)
			if (err == nil) != tt.ok || n != tt.want || (tt.ok && got != tt.wantURL) {
				t.Errorf("poolSize = %q, %d, %v; want %q, %d", got, n, err, tt.wantURL, tt.want)
			}
		})
	}
}

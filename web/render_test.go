package web

import "testing"

// TestLocalPath: only paths of this site are followed after sign-in or a
// form; anything a browser would read as another host is refused.
func TestLocalPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/inbox", true},
		{"/inbox/conversations/7?status=open&view=all", true},
		{"", false},
		{"inbox", false},
		{"//evil.example", false},
		{"/\\evil.example", false},
		{"/\t/evil.example", false}, // ?next=/%09/evil.example: browsers drop the tab
		{"/\n/evil.example", false},
		{"/x\\..\\/evil.example", false},
		{"https://evil.example/", false},
		{"/\x7f", false},
	}
	for _, tt := range tests {
		if got := localPath(tt.path); got != tt.ok {
			t.Errorf("localPath(%q) = %v, want %v", tt.path, got, tt.ok)
		}
	}
}

package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

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

// TestDoneAnswersTheScriptWithoutAPage: a form the script sent learns
// where it leads from a header, with no redirect for fetch to follow into
// a whole page; a plain form post is redirected there.
func TestDoneAnswersTheScriptWithoutAPage(t *testing.T) {
	for _, bg := range []bool{true, false} {
		r := httptest.NewRequest(http.MethodPost, "/inbox/conversations/7/reply", strings.NewReader("next=//evil.example"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Referer", "http://example.com/inbox/conversations/7?view=all")
		if bg {
			r.Header.Set("X-Parley-Background", "1")
		}
		w := httptest.NewRecorder()
		if err := done(w, r, "/inbox/conversations/8"); err != nil {
			t.Fatal(err)
		}
		if bg && (w.Code != http.StatusNoContent || w.Header().Get("X-Parley-Next") != "/inbox/conversations/8" || w.Header().Get("Location") != "" || w.Body.Len() != 0) {
			t.Errorf("background post: %d, next %q, location %q, %d bytes", w.Code, w.Header().Get("X-Parley-Next"), w.Header().Get("Location"), w.Body.Len())
		}
		if !bg && (w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/inbox/conversations/8") {
			t.Errorf("plain post: %d to %q", w.Code, w.Header().Get("Location"))
		}
	}
	// A next that is not this site's goes back where the form was.
	r := httptest.NewRequest(http.MethodPost, "/x", nil)
	r.Header.Set("X-Parley-Background", "1")
	r.Header.Set("Referer", "http://example.com/inbox?view=all")
	r.Host = "example.com"
	w := httptest.NewRecorder()
	_ = done(w, r, "https://evil.example/")
	if got := w.Header().Get("X-Parley-Next"); got != "/inbox?view=all" {
		t.Errorf("next for another site's address: %q, want back to /inbox?view=all", got)
	}
}

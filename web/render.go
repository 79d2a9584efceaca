package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog/hlog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds each page parsed with the layout and the partials, as
// miniflux does: a page's template defines "content", and may define
// panes ("pane:list", …) that the script fetches on their own.
type pages struct {
	byName map[string]*template.Template
}

func parsePages() (*pages, error) {
	names, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, file := range names {
		name := strings.TrimSuffix(path.Base(file), ".html")
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html", file)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", file, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// view is what every page's template is given: the signed-in user, the
// form token, a flash message, the current path for the navigation, and
// the page's own data.
type view struct {
	Title string
	Me    conversations.User
	CSRF  string
	Flash string
	Path  string
	Query url.Values
	Data  any
	// Unread is the signed-in user's unread notifications, as the menu's
	// badge shows them ("" for none, "99+" past what it counts).
	Unread string
}

// Current is the main menu's aria-current for the link to section:
// "page" on that page itself, "true" anywhere below it (a thread is in
// the inbox, Settings → Users in the settings), "" elsewhere.
func (v view) Current(section string) string {
	switch {
	case v.Path == section:
		return "page"
	case strings.HasPrefix(v.Path, section+"/"):
		return "true"
	}
	return ""
}

// render writes a page, or only the pane the request names in ?pane=
// (that is how the script refreshes one part of a page).
func (s *Server) render(w http.ResponseWriter, r *http.Request, page, title string, data any) error {
	return s.renderStatus(w, r, http.StatusOK, page, title, data)
}

// renderStatus is render with another status (a form shown again with
// what to correct): the status goes out with the page's own headers,
// which a WriteHeader before render would have left behind.
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, page, title string, data any) error {
	t, ok := s.pages.byName[page]
	if !ok {
		return fmt.Errorf("web: no page %q", page)
	}
	v := view{Title: title, Path: r.URL.Path, Query: r.URL.Query(), Data: data}
	if a, ok := signedIn(r); ok {
		v.Me, v.CSRF = a.user, a.csrf
	}
	name := "layout"
	if pane := r.URL.Query().Get("pane"); pane != "" {
		name = "pane:" + pane
		if t.Lookup(name) == nil {
			return parley.Errorf(parley.ENOTFOUND, "this page has no pane %q", pane)
		}
	} else {
		v.Flash = takeFlash(w, r)
	}
	if v.Me.ID != 0 && s.d.Staff != nil && (name == "layout" || name == "pane:unread") {
		var err error
		if v.Unread, err = s.unreadBadge(r.Context(), v.Me); err != nil {
			// The page is worth more than its badge: shown without it.
			hlog.FromRequest(r).Error().Err(err).Msg("count unread notifications")
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		return fmt.Errorf("web: render %s: %w", page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// fail answers a request whose handler returned err: a page with the
// error for a plain GET; for a form posted by the script, the status and
// the message as text (the script shows it); for a plain form post, a
// flash message and back to where the form was.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := errorStatus(err)
	if status >= 500 {
		hlog.FromRequest(r).Error().Err(err).Msg("web request failed")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !isBackground(r) {
		setFlash(w, errorText(err))
		http.Redirect(w, r, backTo(r), http.StatusSeeOther)
		return
	}
	s.answerError(w, r, status, errorText(err))
}

// refuse answers a forged or stale form with its status and the error
// page: nothing is done, and nothing redirects.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	s.answerError(w, r, errorStatus(err), errorText(err))
}

// answerError writes an error with its status: as text to the script,
// else as the error page.
func (s *Server) answerError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if isBackground(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprint(w, msg)
		return
	}
	if err := s.renderStatus(w, r, status, "error", "Error", map[string]any{"Status": status, "Message": msg}); err != nil {
		hlog.FromRequest(r).Error().Err(err).Msg("render the error page")
		w.WriteHeader(status) // the page failed before its status went out
		fmt.Fprint(w, msg)
	}
}

// errorStatus maps a domain error to its HTTP status, as the API does.
func errorStatus(err error) int {
	var pe *parley.Error
	if !errors.As(err, &pe) {
		return http.StatusInternalServerError
	}
	return parley.HTTPStatus(pe.Kind)
}

// errorText is what a person is shown: the domain's message and each
// invalid field, never an internal error's text.
func errorText(err error) string {
	var e *parley.Error
	if !errors.As(err, &e) || parley.HTTPStatus(e.Kind) >= 500 {
		return "Something went wrong on our side. Please try again."
	}
	if len(e.Fields) == 0 {
		return e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 1 {
		if s, ok := fieldSentences[keys[0]+"\x00"+e.Fields[keys[0]]]; ok {
			return s
		}
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = strings.TrimSuffix(fieldProblem(k, e.Fields[k]), ".")
	}
	return "Please check: " + strings.Join(parts, "; ") + "."
}

// isBackground reports whether the script sent the form (it sets this
// header); a browser without script posts it plainly.
func isBackground(r *http.Request) bool { return r.Header.Get("X-Parley-Background") == "1" }

// backTo is where a plain form post returns: the form's "next" field when
// it is a path of this site, else the page the form was on.
func backTo(r *http.Request) string {
	if next := r.PostFormValue("next"); localPath(next) {
		return next
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && localPath(ref.Path) {
		return ref.RequestURI()
	}
	return "/inbox"
}

// localPath reports whether p is a path on this site: not //host, not a
// URL, and no control character or backslash anywhere (browsers drop tabs
// and newlines and read "\\" as "/", so "/\t/evil" would leave the site).
func localPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == ""
}

// done answers a successful form post: 303 to next (or back). A post the
// script sent gets 204 with next in X-Parley-Next: fetch would follow a
// redirect and render the whole page only for the script to learn where
// it leads, and the form would wait for it (a reply box left full).
func done(w http.ResponseWriter, r *http.Request, next string) error {
	if !localPath(next) {
		next = backTo(r)
	}
	if isBackground(r) {
		w.Header().Set(headerNext, next)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// headerNext carries a background post's next address.
const headerNext = "X-Parley-Next"

const flashCookie = "parley_flash"

func setFlash(w http.ResponseWriter, msg string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(msg), Path: "/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1})
	msg, _ := url.QueryUnescape(c.Value)
	return msg
}

// assetVersions maps each static file to a hash of its content: pages
// link to /static/app.js?v=…, so a new release is fetched at once and the
// files can be cached for a year.
var assetVersions = func() map[string]string {
	out := map[string]string{}
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := staticFS.ReadFile(p)
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out
}()

func staticFiles() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		files.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows this site's own scripts, styles and
// connections only: no inline script, no third party, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

var funcs = template.FuncMap{
	"asset": func(name string) string { return "/static/" + name + "?v=" + assetVersions[name] },
	// ago is a short relative time, as inbox lists show it.
	"ago": func(t time.Time) string { return ago(time.Now(), t) },
	// when is an absolute time for a title attribute or a detail pane.
	"when": func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
	// iso is a time for <time datetime> and datetime-local inputs.
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + strings.ReplaceAll(s[1:], "_", " ")
	},
	// list3 is a list of three words, for a select's fixed options.
	"list3": func(a, b, c string) []string { return []string{a, b, c} },
	// tagType names a tagging type for a person ("Follow-up").
	"tagType": tagTypeLabel,
	// channel names a channel for a person (channelLabel).
	"channel": channelLabel,
	// with builds a map for passing several values to a partial.
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	// query returns the current query with key set to value (removed when
	// empty), for filter links that keep the other filters.
	"query": func(q url.Values, kv ...string) string {
		out := url.Values{}
		for k, v := range q {
			if k != "pane" && k != "cursor" {
				out[k] = v
			}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				out.Del(kv[i])
			} else {
				out.Set(kv[i], kv[i+1])
			}
		}
		if len(out) == 0 {
			return ""
		}
		return "?" + out.Encode()
	},
}

func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	case d < 7*24*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	return t.UTC().Format("2 Jan")
}

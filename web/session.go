package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
)

// SessionCookie names the cookie that holds a web session's secret.
const SessionCookie = "parley_session"

// handlerFunc is a web handler that returns its error for fail to answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type authKey struct{}

// auth is a signed-in request's user and the form token of their session.
type auth struct {
	user conversations.User
	csrf string
}

func signedIn(r *http.Request) (auth, bool) {
	a, ok := r.Context().Value(authKey{}).(auth)
	return a, ok
}

// me is the signed-in user of a request that went through s.page.
func me(r *http.Request) conversations.User {
	a, _ := signedIn(r)
	return a.user
}

// crossOrigin refuses state-changing requests that a browser marks as
// coming from another origin (Sec-Fetch-Site, Origin): the second guard
// beside the form token.
var crossOrigin = http.NewCrossOriginProtection()

// public wraps a handler that needs no session.
func (s *Server) public(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := crossOrigin.Check(r); err != nil {
			s.refuse(w, r, parley.Errorf(parley.EFORBIDDEN, "this form was sent from another site and was refused"))
			return
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// page wraps a handler that needs a signed-in user. A page asked for
// without a session goes to the sign-in page and comes back after; the
// script's own requests (a pane's refresh) get 401 instead, so that the
// page they refresh can say the session ended and keep what was typed. A
// form posted without the session's token is refused.
func (s *Server) page(h handlerFunc) http.Handler {
	return s.public(func(w http.ResponseWriter, r *http.Request) error {
		secret, user, err := s.session(r)
		if err != nil {
			if parley.IsKind(err, parley.EUNAUTHENTICATED) && safeRead(r.Method) && !isBackground(r) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return nil
			}
			return err
		}
		if !safeMethod(r.Method) && !conversations.CSRFMatches(secret, csrfPresented(r)) {
			s.refuse(w, r, parley.Errorf(parley.EFORBIDDEN, "this form has expired or was not sent from Parley: reload the page and try again"))
			return nil
		}
		r = withAuth(r, secret, user)
		// The error is answered here, with the signed-in request: an
		// error page keeps the menu and the form token of the session.
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
		return nil
	})
}

// withSession is r with its signed-in user when it has a session (a page
// anyone may ask for, such as a page that is not there, shows the menu
// to someone signed in).
func (s *Server) withSession(r *http.Request) *http.Request {
	secret, user, err := s.session(r)
	if err != nil {
		return r
	}
	return withAuth(r, secret, user)
}

// withAuth is r carrying its session's user and form token.
func withAuth(r *http.Request, secret string, user conversations.User) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), authKey{}, auth{user: user, csrf: conversations.CSRFToken(secret)}))
}

// safeRead reports whether m only reads a page (GET or HEAD).
func safeRead(m string) bool { return m == http.MethodGet || m == http.MethodHead }

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfPresented is the form token of a post: the script sends it as a
// header, a plain form as a field.
func csrfPresented(r *http.Request) string {
	if h := r.Header.Get("X-CSRF-Token"); h != "" {
		return h
	}
	return r.PostFormValue("csrf")
}

// session finds the signed-in user of the request's cookie.
func (s *Server) session(r *http.Request) (string, conversations.User, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return "", conversations.User{}, parley.Errorf(parley.EUNAUTHENTICATED, "not signed in")
	}
	user, err := s.d.Sessions.AuthenticateSession(r.Context(), conversations.HashToken(c.Value), s.d.Clock.Now())
	return c.Value, user, err
}

// Authenticate lets the JSON API accept the session cookie (EventSource
// cannot send an Authorization header): EUNAUTHENTICATED without one; for
// a state-changing request, EFORBIDDEN unless it carries the session's
// token in X-CSRF-Token and comes from this site.
func (s *Server) Authenticate(r *http.Request) (conversations.User, error) {
	secret, user, err := s.session(r)
	if err != nil {
		return user, err
	}
	if !safeMethod(r.Method) {
		if crossOrigin.Check(r) != nil || !conversations.CSRFMatches(secret, r.Header.Get("X-CSRF-Token")) {
			return conversations.User{}, parley.Errorf(parley.EFORBIDDEN, "a request signed in by cookie needs the X-CSRF-Token header of its session")
		}
	}
	return user, nil
}

func (s *Server) sessionRoutes(r *mux.Router) {
	r.Handle("/login", s.public(s.loginPage)).Methods(http.MethodGet)
	r.Handle("/login", s.public(s.login)).Methods(http.MethodPost)
	r.Handle("/logout", s.page(s.logout)).Methods(http.MethodPost)
	r.Handle(conversations.SetPasswordPath+"{link}", s.public(s.setPasswordPage)).Methods(http.MethodGet)
	r.Handle(conversations.SetPasswordPath+"{link}", s.public(s.setPassword)).Methods(http.MethodPost)
}

type loginData struct {
	Email, Next, Error string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := s.session(r); err == nil {
		return done(w, r, nextPage(r.URL.Query().Get("next")))
	}
	return s.render(w, r, "login", "Sign in", loginData{Next: r.URL.Query().Get("next")})
}

// login checks an email and password and starts a session. Every attempt
// counts against the email's and the address's budget before the password
// is checked, so guessing is slow whether or not the email exists.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	email := conversations.NormalEmail(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	data := loginData{Email: email, Next: r.PostFormValue("next")}
	if wait, ok := s.logins.allow(email, clientIP(r)); !ok {
		data.Error = fmt.Sprintf("Too many sign-in attempts. Try again in %d seconds.", int(wait.Seconds()+1))
		return s.renderStatus(w, r, http.StatusTooManyRequests, "login", "Sign in", data)
	}
	user, err := s.checkPassword(r.Context(), email, password)
	if err != nil {
		if !conversations.IsBadCredentials(err) {
			return err
		}
		data.Error = "The email or the password is wrong."
		return s.renderStatus(w, r, http.StatusUnauthorized, "login", "Sign in", data)
	}
	if err := s.startSession(w, r, user); err != nil {
		return err
	}
	return done(w, r, nextPage(data.Next))
}

// checkPassword finds the user the password is for. An email may be a
// user in several accounts: the first whose password matches signs in.
func (s *Server) checkPassword(ctx context.Context, email, password string) (conversations.User, error) {
	users, err := s.d.Sessions.UsersByEmail(ctx, email)
	if err != nil {
		return conversations.User{}, err
	}
	compared := false
	for _, u := range users {
		if u.PasswordHash == "" {
			continue
		}
		compared = true
		if conversations.PasswordMatches(u.PasswordHash, password) {
			return u.User, nil
		}
	}
	if !compared {
		// As long as a wrong password for a real user: the time taken
		// must not tell whether the email is someone's.
		conversations.PasswordMatches(decoyHash(), password)
	}
	return conversations.User{}, conversations.ErrBadCredentials
}

// decoyHash is a hash no password matches, made at the current cost.
var decoyHash = sync.OnceValue(func() string {
	h, _ := conversations.HashPassword("decoy password, never anyone's")
	return h
})

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, user conversations.User) error {
	// A session the browser already had ends: one browser, one session.
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := s.d.Sessions.EndSession(r.Context(), conversations.HashToken(c.Value), s.d.Clock.Now()); err != nil {
			return err
		}
	}
	secret := conversations.NewSessionSecret()
	if _, err := s.d.Sessions.CreateSession(r.Context(), user, secret.Hash, s.d.Clock.Now()); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: secret.Secret, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(r), MaxAge: int(conversations.SessionLifetime / time.Second)})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.d.Sessions.EndSession(r.Context(), conversations.HashToken(c.Value), s.d.Clock.Now()); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

type setPasswordData struct {
	User  conversations.User
	Error string
}

func (s *Server) setPasswordPage(w http.ResponseWriter, r *http.Request) error {
	user, err := s.d.Sessions.PasswordLinkUser(r.Context(), conversations.HashToken(mux.Vars(r)["link"]), s.d.Clock.Now())
	if err != nil {
		return err
	}
	return s.render(w, r, "set_password", "Choose a password", setPasswordData{User: user})
}

// setPassword spends a set-password link and signs its user in.
func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) error {
	link := conversations.HashToken(mux.Vars(r)["link"])
	user, err := s.d.Sessions.PasswordLinkUser(r.Context(), link, s.d.Clock.Now())
	if err != nil {
		return err
	}
	password := r.PostFormValue("password")
	if password != r.PostFormValue("confirm") {
		return s.renderStatus(w, r, http.StatusUnprocessableEntity, "set_password", "Choose a password",
			setPasswordData{User: user, Error: "The two passwords differ."})
	}
	hash, err := conversations.HashPassword(password)
	if err != nil {
		return s.renderStatus(w, r, http.StatusUnprocessableEntity, "set_password", "Choose a password",
			setPasswordData{User: user, Error: errorText(err)})
	}
	if user, err = s.d.Sessions.UsePasswordLink(r.Context(), link, hash, s.d.Clock.Now()); err != nil {
		return err
	}
	if err := s.startSession(w, r, user); err != nil {
		return err
	}
	return done(w, r, "/inbox")
}

// nextPage is where sign-in goes on to: a path of this site, else the inbox.
func nextPage(next string) string {
	if localPath(next) {
		return next
	}
	return "/inbox"
}

// secureCookies reports whether the session cookie is marked Secure: when
// PARLEY_PUBLIC_URL is https (a proxy terminates TLS), or the request came
// over TLS.
func (s *Server) secureCookies(r *http.Request) bool {
	return strings.HasPrefix(s.d.PublicURL, "https://") || overTLS(r)
}

// overTLS reports whether the browser reached Parley over https, directly
// or through a proxy that says so: only then is the cookie marked Secure,
// so that `make run` on plain http still signs in.
func overTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// LoginLimit is how many sign-in attempts an email, and an address, may
// make in a burst, and how fast the allowance comes back.
type LoginLimit struct {
	Burst int
	Every time.Duration
}

// DefaultLoginLimit allows 5 attempts at once, then one every 12 s.
var DefaultLoginLimit = LoginLimit{Burst: 5, Every: 12 * time.Second}

// loginLimiter keeps a token bucket per email and per address, in this
// instance's memory (bounded): several instances each allow their own.
type loginLimiter struct {
	limit   LoginLimit
	buckets *lru.Cache[string, *rate.Limiter]
}

func newLoginLimiter(l LoginLimit) *loginLimiter {
	if l.Burst <= 0 || l.Every <= 0 {
		l = DefaultLoginLimit
	}
	c, _ := lru.New[string, *rate.Limiter](100_000)
	return &loginLimiter{limit: l, buckets: c}
}

// allow takes an attempt from the email's and the address's buckets; when
// either is empty it says how long to wait.
func (l *loginLimiter) allow(email, ip string) (time.Duration, bool) {
	var wait time.Duration
	ok := true
	// An address may sign in several colleagues: it gets four emails' worth.
	for key, burst := range map[string]int{"email:" + email: l.limit.Burst, "ip:" + ip: 4 * l.limit.Burst} {
		b, found := l.buckets.Get(key)
		if !found {
			b = rate.NewLimiter(rate.Every(l.limit.Every), burst)
			l.buckets.Add(key, b)
		}
		res := b.Reserve()
		if d := res.Delay(); d > 0 {
			res.Cancel()
			ok = false
			wait = max(wait, d)
		}
	}
	return wait, ok
}

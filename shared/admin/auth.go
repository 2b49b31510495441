package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"
)

// SessionCookie is the console's session cookie name.
const SessionCookie = "admin_session"

// CSRFHeader carries the CSRF token on state-changing console requests.
const CSRFHeader = "X-CSRF-Token"

type session struct {
	User  string `json:"u"`
	Exp   int64  `json:"e"`
	Nonce string `json:"n"`
}

// principal is who makes a request.
type principal struct {
	who    string
	bearer bool
	csrf   string // expected CSRF token (cookie sessions)
}

func (h *Handler) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, h.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

func (h *Handler) newSession(user string) (string, session) {
	var n [16]byte
	_, _ = rand.Read(n[:]) // crypto/rand never fails on supported platforms
	s := session{User: user, Exp: h.now().Add(h.sessionTTL).Unix(), Nonce: hex.EncodeToString(n[:])}
	payload, _ := json.Marshal(s)
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(h.mac("session", p)), s
}

func (h *Handler) parseSession(v string) (session, bool) {
	p, sig, ok := strings.Cut(v, ".")
	if !ok {
		return session{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, h.mac("session", p)) {
		return session{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return session{}, false
	}
	var s session
	if json.Unmarshal(raw, &s) != nil || s.Nonce == "" || h.now().Unix() >= s.Exp {
		return session{}, false
	}
	return s, true
}

func (h *Handler) csrfFor(s session) string {
	return base64.RawURLEncoding.EncodeToString(h.mac("csrf", s.Nonce))
}

// authenticate returns the principal of r, or ok=false.
// A present but wrong bearer token never falls back to the cookie.
func (h *Handler) authenticate(r *http.Request) (principal, bool) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || !h.tokenOK(strings.TrimSpace(tok)) {
			return principal{}, false
		}
		return principal{who: "api-token", bearer: true}, true
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return principal{}, false
	}
	s, ok := h.parseSession(c.Value)
	if !ok {
		return principal{}, false
	}
	return principal{who: s.User, csrf: h.csrfFor(s)}, true
}

func (h *Handler) tokenOK(tok string) bool {
	a, b := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(h.cfg.Token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// csrfOK checks the CSRF token of a state-changing cookie request.
func csrfOK(r *http.Request, p principal) bool {
	if p.bearer {
		return true // no ambient credential: a bearer request cannot be forged cross-site
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.csrf)) == 1
}

func safeMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// secure tells whether cookies must be Secure: always, except for plain
// http on a loopback address (the local stack).
func secure(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

func (h *Handler) setSession(w http.ResponseWriter, r *http.Request, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/admin", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
	})
}

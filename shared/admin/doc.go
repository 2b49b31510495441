// Package admin is the admin function's HTTP side: a JSON API under
// /admin/api/ and a web console under /admin/ (embedded HTML, CSS and a
// small script that draws the charts as inline SVG; nothing is loaded from
// the internet).
//
// Authentication: API clients send "Authorization: Bearer <ADMIN_TOKEN>";
// people sign in on /admin/login with the same token and get an
// HMAC-signed session cookie (HttpOnly, SameSite=Strict, Secure unless the
// console is served over plain http on a loopback address). A
// state-changing request made with the cookie must carry the session's CSRF
// token (header X-CSRF-Token or form field csrf). Only the login page and
// the static assets answer without authentication. Every write is audited
// (who, when, what) in the store with the event retention.
//
// The console shows the analytics dashboard, the unanswered questions with
// one action to add one as an FAQ variant or a new entry, a knowledge
// editor with line-precise validation and a preview of the bot's answer,
// CSV exports, and the dead letters of the notes and queue topics with
// replay.
package admin

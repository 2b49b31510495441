package salesforcetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIVersion is the only API version the fake serves.
const APIVersion = "v59.0"

// schema lists the fields of each sObject: writable ones, then read-only.
var schema = map[string]struct {
	prefix   string
	writable []string
	readOnly []string
	extIDs   []string
}{
	"Account":                {"001", []string{"Name"}, []string{"Id", "CreatedDate"}, nil},
	"Contact":                {"003", []string{"FirstName", "LastName", "Phone", "MobilePhone", "Email", "AccountId", "OwnerId", "Description", "WeCom_External_UserId__c", "WeCom_UnionId__c"}, []string{"Id", "Name", "CreatedDate"}, []string{"WeCom_External_UserId__c"}},
	"Opportunity":            {"006", []string{"Name", "StageName", "Amount", "CloseDate", "NextStep", "AccountId"}, []string{"Id", "CreatedDate"}, nil},
	"OpportunityContactRole": {"00K", []string{"OpportunityId", "ContactId", "Role"}, []string{"Id", "CreatedDate"}, nil},
	"Task":                   {"00T", []string{"Subject", "Description", "ActivityDate", "ReminderDateTime", "IsReminderSet", "Status", "Priority", "OwnerId", "WhoId", "WhatId", "TaskSubtype", "WeCom_Conversation_Key__c"}, []string{"Id", "IsClosed", "CreatedDate"}, []string{"WeCom_Conversation_Key__c"}},
}

// Server is the fake. Create it with New.
type Server struct {
	*httptest.Server
	ClientID, ClientSecret, RefreshToken string
	// UpdateStatus is the status of an upsert that updates: 200 (current
	// API versions, with a body) or 204 (older ones, no body).
	UpdateStatus int

	mu         sync.Mutex
	token      string
	tokenN     int
	records    map[string]map[string]map[string]any // object → id → fields
	nextID     int
	clock      int64
	requests   []string
	violations []string
	tokenCalls int
	failNext   map[string]int // "METHOD /path-prefix" → count of 503s
}

// New starts a fake accepting the given OAuth client and refresh token.
func New(clientID, clientSecret, refreshToken string) *Server {
	s := &Server{ClientID: clientID, ClientSecret: clientSecret, RefreshToken: refreshToken, UpdateStatus: 200,
		records: map[string]map[string]map[string]any{}, failNext: map[string]int{}}
	for o := range schema {
		s.records[o] = map[string]map[string]any{}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// ExpireSession invalidates the current access token (the next API call
// gets 401 INVALID_SESSION_ID).
func (s *Server) ExpireSession() { s.mu.Lock(); s.token = "expired"; s.mu.Unlock() }

// TokenCalls returns how many tokens were issued.
func (s *Server) TokenCalls() int { s.mu.Lock(); defer s.mu.Unlock(); return s.tokenCalls }

// Requests returns "METHOD /path" of every request.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Violations returns the malformed requests seen.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// Fail503 makes the next n requests whose "METHOD /path" starts with match
// fail with 503 SERVER_UNAVAILABLE.
func (s *Server) Fail503(match string, n int) { s.mu.Lock(); s.failNext[match] += n; s.mu.Unlock() }

// Insert stores a record directly (test set-up) and returns its id.
func (s *Server) Insert(object string, fields map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insert(object, fields)
}

// Records returns copies of all records of an object.
func (s *Server) Records(object string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, r := range s.records[object] {
		c := map[string]any{}
		for k, v := range r {
			c[k] = v
		}
		out = append(out, c)
	}
	return out
}

func (s *Server) insert(object string, fields map[string]any) string {
	s.nextID++
	s.clock++
	id := fmt.Sprintf("%sFAKE%011d", schema[object].prefix, s.nextID)
	r := map[string]any{"Id": id, "CreatedDate": time.Unix(1764000000+s.clock, 0).UTC().Format("2006-01-02T15:04:05.000+0000")}
	s.records[object][id] = r
	s.apply(object, r, fields)
	return id
}

func (s *Server) apply(object string, r, fields map[string]any) {
	for k, v := range fields {
		r[k] = v
	}
	switch object {
	case "Contact":
		r["Name"] = strings.TrimSpace(str(r["FirstName"]) + " " + str(r["LastName"]))
	case "Task":
		r["IsClosed"] = r["Status"] == "Completed"
	}
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Sforce-Limit-Info", "api-usage=18/5000")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v) // client gone: nothing to do
	}
}

func writeErr(w http.ResponseWriter, status int, code, msg string, fields ...string) {
	e := map[string]any{"message": msg, "errorCode": code}
	if len(fields) > 0 {
		e["fields"] = fields
	}
	writeJSON(w, status, []map[string]any{e})
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	s.mu.Lock()
	s.violations = append(s.violations, r.Method+" "+r.URL.Path+": "+code+": "+msg)
	s.mu.Unlock()
	writeErr(w, status, code, msg)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	line := r.Method + " " + r.URL.Path
	s.mu.Lock()
	s.requests = append(s.requests, line)
	for m, n := range s.failNext {
		if n > 0 && strings.HasPrefix(line, m) {
			s.failNext[m]--
			s.mu.Unlock()
			writeErr(w, 503, "SERVER_UNAVAILABLE", "server busy")
			return
		}
	}
	s.mu.Unlock()
	if r.URL.Path == "/services/oauth2/token" {
		s.tokenEndpoint(w, r)
		return
	}
	s.mu.Lock()
	tok := s.token
	s.mu.Unlock()
	if tok == "" || r.Header.Get("Authorization") != "Bearer "+tok {
		writeErr(w, 401, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	base := "/services/data/" + APIVersion
	path, ok := strings.CutPrefix(r.URL.EscapedPath(), base)
	if !ok {
		s.reject(w, r, 404, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	for i := range seg {
		seg[i], _ = url.PathUnescape(seg[i]) // escaped by the client; bad escapes stay as given
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			s.reject(w, r, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json")
			return
		}
		b, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err := json.Unmarshal(b, &body); err != nil || body == nil {
			s.reject(w, r, 400, "JSON_PARSER_ERROR", "Unexpected character in JSON body")
			return
		}
	}
	switch {
	case r.Method == http.MethodGet && len(seg) == 1 && seg[0] == "query":
		s.query(w, r)
	case r.Method == http.MethodPost && len(seg) == 2 && seg[0] == "sobjects":
		s.create(w, r, seg[1], body)
	case r.Method == http.MethodPatch && len(seg) == 3 && seg[0] == "sobjects":
		s.update(w, r, seg[1], seg[2], body)
	case r.Method == http.MethodPatch && len(seg) == 4 && seg[0] == "sobjects":
		s.upsert(w, r, seg[1], seg[2], seg[3], body)
	default:
		s.reject(w, r, 404, "NOT_FOUND", "The requested resource does not exist")
	}
}

func (s *Server) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.mu.Lock()
		s.violations = append(s.violations, "token: not a form POST")
		s.mu.Unlock()
		writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": "must use POST with form data"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": "bad form"})
		return
	}
	f := r.PostForm
	if f.Get("client_id") != s.ClientID || f.Get("client_secret") != s.ClientSecret {
		writeJSON(w, 400, map[string]string{"error": "invalid_client", "error_description": "invalid client credentials"})
		return
	}
	switch f.Get("grant_type") {
	case "client_credentials":
	case "refresh_token":
		if f.Get("refresh_token") != s.RefreshToken || s.RefreshToken == "" {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant", "error_description": "expired access/refresh token"})
			return
		}
	default:
		writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type", "error_description": "grant type not supported"})
		return
	}
	s.mu.Lock()
	s.tokenN++
	s.tokenCalls++
	s.token = "00DFAKE!token" + strconv.Itoa(s.tokenN)
	tok := s.token
	s.mu.Unlock()
	writeJSON(w, 200, map[string]string{"access_token": tok, "instance_url": s.URL, "id": s.URL + "/id/00DFAKE/005FAKE",
		"token_type": "Bearer", "issued_at": strconv.FormatInt(time.Now().UnixMilli(), 10), "signature": "fake="})
}

func (s *Server) checkFields(object string, body map[string]any, forbid string) (string, bool) {
	sc, ok := schema[object]
	if !ok {
		return "The requested resource does not exist", false
	}
	for k, v := range body {
		if !slices.Contains(sc.writable, k) || k == forbid {
			return fmt.Sprintf("No such column '%s' on sobject of type %s", k, object), false
		}
		switch v.(type) {
		case string, float64, bool, nil:
		default:
			return fmt.Sprintf("Cannot deserialize value for field %s", k), false
		}
	}
	if d, ok := body["ActivityDate"].(string); ok && !dateRe.MatchString(d) {
		return "ActivityDate: invalid date " + d, false
	}
	return "", true
}

var dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func (s *Server) create(w http.ResponseWriter, r *http.Request, object string, body map[string]any) {
	if msg, ok := s.checkFields(object, body, ""); !ok {
		s.reject(w, r, 400, "INVALID_FIELD", msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg := s.checkRefs(object, body); msg != "" {
		writeErr(w, 400, "INVALID_CROSS_REFERENCE_KEY", msg)
		return
	}
	id := s.insert(object, body)
	writeJSON(w, 201, map[string]any{"id": id, "success": true, "errors": []any{}})
}

// checkRefs rejects references to records that do not exist.
func (s *Server) checkRefs(object string, body map[string]any) string {
	for field, target := range map[string]string{"WhoId": "Contact", "AccountId": "Account", "ContactId": "Contact", "OpportunityId": "Opportunity"} {
		if v, ok := body[field].(string); ok && v != "" && s.records[target][v] == nil {
			return fmt.Sprintf("invalid cross reference id: %s", field)
		}
	}
	return ""
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, object, id string, body map[string]any) {
	if msg, ok := s.checkFields(object, body, ""); !ok {
		s.reject(w, r, 400, "INVALID_FIELD", msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.records[object][id]
	if rec == nil {
		writeErr(w, 404, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	if _, ok := body["TaskSubtype"]; ok {
		writeErr(w, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: TaskSubtype", "TaskSubtype")
		return
	}
	s.apply(object, rec, body)
	writeJSON(w, 204, nil)
}

func (s *Server) upsert(w http.ResponseWriter, r *http.Request, object, field, value string, body map[string]any) {
	sc, ok := schema[object]
	if !ok || !slices.Contains(sc.extIDs, field) {
		s.reject(w, r, 404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+field)
		return
	}
	if msg, ok := s.checkFields(object, body, field); !ok {
		s.reject(w, r, 400, "INVALID_FIELD", msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg := s.checkRefs(object, body); msg != "" {
		writeErr(w, 400, "INVALID_CROSS_REFERENCE_KEY", msg)
		return
	}
	var matches []string
	for id, rec := range s.records[object] {
		if rec[field] == value {
			matches = append(matches, id)
		}
	}
	switch len(matches) {
	case 0:
		fields := map[string]any{field: value}
		for k, v := range body {
			fields[k] = v
		}
		id := s.insert(object, fields)
		writeJSON(w, 201, map[string]any{"id": id, "success": true, "errors": []any{}, "created": true})
	case 1:
		if _, ok := body["TaskSubtype"]; ok {
			writeErr(w, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: TaskSubtype", "TaskSubtype")
			return
		}
		s.apply(object, s.records[object][matches[0]], body)
		if s.UpdateStatus == 204 {
			writeJSON(w, 204, nil)
			return
		}
		writeJSON(w, 200, map[string]any{"id": matches[0], "success": true, "errors": []any{}, "created": false})
	default:
		urls := make([]string, len(matches))
		for i, id := range matches {
			urls[i] = "/services/data/" + APIVersion + "/sobjects/" + object + "/" + id
		}
		writeJSON(w, 300, urls)
	}
}

package hubspottest

import (
	"bytes"

	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is an injected failure for requests whose "METHOD /path" starts
// with Match (empty matches every request).
type Fault struct {
	Match  string
	Status int    // 429, 500, 503, …; 0 means only Delay
	Policy string // for 429: TEN_SECONDLY_ROLLING, DAILY, …
	Delay  time.Duration
}

// Server is the fake. Create it with New.
type Server struct {
	*httptest.Server
	// Token is the accepted private-app token.
	Token string

	mu         sync.Mutex
	objects    map[string]map[string]map[string]string // type → id → properties
	created    map[string]time.Time                    // "type/id" → created
	assoc      map[string][]string                     // "type/id/toType" → ids
	nextID     int
	faults     []Fault
	requests   []string
	violations []string
	// AssocPageSize truncates the association lists of a GET (then paged).
	assocPage int
}

var objectTypes = map[string]bool{"contacts": true, "notes": true, "tasks": true, "deals": true}

// uniqueProps are the properties with "unique value" set.
var uniqueProps = map[string]string{"contacts": "wecom_external_userid", "notes": "wecom_conversation_key", "tasks": "wecom_task_key"}

// assocTypes are the HUBSPOT_DEFINED type ids from the object to a contact.
var assocTypes = map[string]int{"notes": 202, "tasks": 204, "deals": 3}

var singular = map[string]string{"contacts": "contact", "notes": "note", "tasks": "task", "deals": "deal"}

// New starts a fake accepting token. It is closed by t.Cleanup in tests via
// the returned server's Close.
func New(token string) *Server {
	s := &Server{Token: token, objects: map[string]map[string]map[string]string{}, created: map[string]time.Time{},
		assoc: map[string][]string{}, nextID: 1000, assocPage: 100}
	for t := range objectTypes {
		s.objects[t] = map[string]map[string]string{}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetAssocPageSize sets how many associations a contact GET returns before
// it pages (HubSpot truncates these lists).
func (s *Server) SetAssocPageSize(n int) { s.mu.Lock(); s.assocPage = n; s.mu.Unlock() }

// Inject queues fault for the next times matching requests.
func (s *Server) Inject(f Fault, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.faults = append(s.faults, f)
	}
}

// Requests returns "METHOD /path" of every request received.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ResetRequests clears the request log.
func (s *Server) ResetRequests() { s.mu.Lock(); s.requests = nil; s.mu.Unlock() }

// Violations returns the validation failures seen (malformed requests).
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// AddObject stores an object directly (test set-up) and returns its id.
func (s *Server) AddObject(objType string, props map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.create(objType, props)
}

// Associate links a contact to another object in both directions.
func (s *Server) Associate(contactID, toType, toID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.link("contacts", contactID, toType, toID)
}

// Object returns a copy of an object's properties, or nil.
func (s *Server) Object(objType, id string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[objType][id]
	if o == nil {
		return nil
	}
	return cloneMap(o)
}

// Count returns how many objects of a type exist.
func (s *Server) Count(objType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.objects[objType])
}

func cloneMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (s *Server) create(objType string, props map[string]string) string {
	s.nextID++
	id := strconv.Itoa(s.nextID)
	p := cloneMap(props)
	now := time.Now().UTC()
	p["hs_object_id"] = id
	p["createdate"] = now.Format(time.RFC3339Nano)
	p["lastmodifieddate"] = now.Format(time.RFC3339Nano)
	s.objects[objType][id] = p
	s.created[objType+"/"+id] = now
	return id
}

func (s *Server) link(fromType, fromID, toType, toID string) {
	add := func(k, id string) {
		if !slices.Contains(s.assoc[k], id) {
			s.assoc[k] = append(s.assoc[k], id)
		}
	}
	add(fromType+"/"+fromID+"/"+toType, toID)
	add(toType+"/"+toID+"/"+fromType, fromID)
}

// errorBody writes HubSpot's error shape.
func writeError(w http.ResponseWriter, status int, category, msg string, extra map[string]any) {
	body := map[string]any{"status": "error", "message": msg, "correlationId": "0b6e9c8a-fake-4c1e-9d1a-" + strconv.Itoa(status), "category": category}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // client gone: nothing to do
}

// reject records a violation and answers 4xx.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, status int, category, msg string) {
	s.mu.Lock()
	s.violations = append(s.violations, r.Method+" "+r.URL.Path+": "+msg)
	s.mu.Unlock()
	writeError(w, status, category, msg, nil)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	line := r.Method + " " + r.URL.Path
	s.mu.Lock()
	s.requests = append(s.requests, line)
	var fault *Fault
	for i, f := range s.faults {
		if strings.HasPrefix(line, f.Match) {
			fault = &f
			s.faults = slices.Delete(s.faults, i, i+1)
			break
		}
	}
	s.mu.Unlock()
	if fault != nil {
		if fault.Delay > 0 {
			select {
			case <-time.After(fault.Delay):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case fault.Status == http.StatusTooManyRequests:
			w.Header().Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
			writeError(w, 429, "RATE_LIMITS", "You have reached your "+strings.ToLower(fault.Policy)+" limit.",
				map[string]any{"errorType": "RATE_LIMIT", "policyName": fault.Policy, "groupName": "fake-app"})
			return
		case fault.Status != 0:
			writeError(w, fault.Status, "INTERNAL_ERROR", "internal error", nil)
			return
		}
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		s.reject(w, r, http.StatusUnauthorized, "INVALID_AUTHENTICATION",
			"Authentication credentials not found. This API supports OAuth 2.0 authentication.")
		return
	}
	var body []byte
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			s.reject(w, r, http.StatusUnsupportedMediaType, "VALIDATION_ERROR", "Content-Type must be application/json")
			return
		}
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil || !json.Valid(body) {
			s.reject(w, r, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON on line 1")
			return
		}
	}
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	ok := func(n int, prefix ...string) bool {
		if len(seg) != n {
			return false
		}
		for i, p := range prefix {
			if p != "*" && seg[i] != p {
				return false
			}
		}
		return true
	}
	switch {
	case r.Method == http.MethodPost && ok(5, "crm", "v3", "objects", "*", "search") && objectTypes[seg[3]]:
		s.search(w, r, seg[3], body)
	case r.Method == http.MethodPost && ok(6, "crm", "v3", "objects", "*", "batch", "upsert") && objectTypes[seg[3]]:
		s.batchUpsert(w, r, seg[3], body)
	case r.Method == http.MethodPost && ok(6, "crm", "v3", "objects", "*", "batch", "read") && objectTypes[seg[3]]:
		s.batchRead(w, r, seg[3], body)
	case r.Method == http.MethodPost && ok(4, "crm", "v3", "objects", "*") && objectTypes[seg[3]]:
		s.createObject(w, r, seg[3], body)
	case r.Method == http.MethodGet && ok(5, "crm", "v3", "objects", "*") && objectTypes[seg[3]]:
		s.get(w, r, seg[3], seg[4])
	case r.Method == http.MethodPatch && ok(5, "crm", "v3", "objects", "*") && objectTypes[seg[3]]:
		s.patch(w, r, seg[3], seg[4], body)
	case r.Method == http.MethodGet && ok(7, "crm", "v4", "objects", "*", "*", "associations", "*") && objectTypes[seg[3]] && objectTypes[seg[6]]:
		s.listAssoc(w, r, seg[3], seg[4], seg[6])
	case r.Method == http.MethodPut && ok(9, "crm", "v4", "objects", "*", "*", "associations", "default", "*", "*") && objectTypes[seg[3]] && objectTypes[seg[7]]:
		s.defaultAssoc(w, r, seg[3], seg[4], seg[7], seg[8])
	default:
		s.reject(w, r, http.StatusNotFound, "OBJECT_NOT_FOUND", "Unable to route "+line)
	}
}

// decodeProps checks that every property value is a JSON string.
func decodeProps(raw map[string]json.RawMessage) (map[string]string, error) {
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			//lint:ignore ST1005 HubSpot's own wording, returned verbatim in its error body
			return nil, fmt.Errorf("Property values were not valid: property %q must be a string, got %s", k, string(v))
		}
		out[k] = s
	}
	return out, nil
}

type assocInput struct {
	To *struct {
		ID string `json:"id"`
	} `json:"to"`
	Types []struct {
		Category string `json:"associationCategory"`
		TypeID   int    `json:"associationTypeId"`
	} `json:"types"`
}

func (s *Server) createObject(w http.ResponseWriter, r *http.Request, objType string, body []byte) {
	var in struct {
		Properties   map[string]json.RawMessage `json:"properties"`
		Associations *[]assocInput              `json:"associations"`
	}
	if err := strictDecode(body, &in); err != nil || in.Properties == nil {
		s.reject(w, r, 400, "VALIDATION_ERROR", fmt.Sprintf("Invalid input JSON: properties required (%v)", err))
		return
	}
	if in.Associations == nil {
		s.reject(w, r, 400, "VALIDATION_ERROR", "associations is required (send [] if none)")
		return
	}
	props, err := decodeProps(in.Properties)
	if err != nil {
		s.reject(w, r, 400, "VALIDATION_ERROR", err.Error())
		return
	}
	if msg := requiredProps(objType, props); msg != "" {
		s.reject(w, r, 400, "VALIDATION_ERROR", msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range *in.Associations {
		if a.To == nil || a.To.ID == "" || len(a.Types) != 1 || a.Types[0].Category != "HUBSPOT_DEFINED" || a.Types[0].TypeID != assocTypes[objType] {
			s.violationLocked(r, "invalid association")
			writeError(w, 400, "VALIDATION_ERROR", fmt.Sprintf("invalid association: %s to contact needs HUBSPOT_DEFINED %d", objType, assocTypes[objType]), nil)
			return
		}
		if s.objects["contacts"][a.To.ID] == nil {
			writeError(w, 400, "VALIDATION_ERROR", "One or more associations are invalid: contact "+a.To.ID+" not found", nil)
			return
		}
	}
	if msg := s.uniqueTaken(objType, props, ""); msg != "" {
		writeError(w, 409, "CONFLICT", msg, nil)
		return
	}
	id := s.create(objType, props)
	for _, a := range *in.Associations {
		s.link("contacts", a.To.ID, objType, id)
	}
	writeJSON(w, http.StatusCreated, s.render(objType, id, nil, true))
}

func requiredProps(objType string, p map[string]string) string {
	switch objType {
	case "notes", "tasks":
		if p["hs_timestamp"] == "" {
			return "hs_timestamp is required"
		}
	}
	if st, ok := p["hs_task_status"]; ok && objType == "tasks" && st != "NOT_STARTED" && st != "COMPLETED" {
		return "hs_task_status must be NOT_STARTED or COMPLETED"
	}
	return ""
}

func (s *Server) violationLocked(r *http.Request, msg string) {
	s.violations = append(s.violations, r.Method+" "+r.URL.Path+": "+msg)
}

func (s *Server) uniqueTaken(objType string, props map[string]string, self string) string {
	up := uniqueProps[objType]
	v, ok := props[up]
	if !ok || v == "" {
		return ""
	}
	for id, o := range s.objects[objType] {
		if id != self && o[up] == v {
			return fmt.Sprintf("A %s with %s=%s already exists (id %s)", singular[objType], up, v, id)
		}
	}
	return ""
}

func (s *Server) findUnique(objType, prop, v string) string {
	for id, o := range s.objects[objType] {
		if o[prop] == v {
			return id
		}
	}
	return ""
}

func (s *Server) batchUpsert(w http.ResponseWriter, r *http.Request, objType string, body []byte) {
	var in struct {
		Inputs []struct {
			IDProperty string                     `json:"idProperty"`
			ID         string                     `json:"id"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"inputs"`
	}
	if err := strictDecode(body, &in); err != nil || len(in.Inputs) == 0 || len(in.Inputs) > 100 {
		s.reject(w, r, 400, "VALIDATION_ERROR", fmt.Sprintf("inputs: 1..100 required (%v)", err))
		return
	}
	type result struct {
		id    string
		isNew bool
	}
	var results []result
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inp := range in.Inputs {
		if inp.ID == "" || inp.Properties == nil {
			s.violationLocked(r, "id and properties required")
			writeError(w, 400, "VALIDATION_ERROR", "id and properties are required", nil)
			return
		}
		if inp.IDProperty != uniqueProps[objType] {
			s.violationLocked(r, "idProperty not unique")
			writeError(w, 400, "VALIDATION_ERROR", fmt.Sprintf("Property %q is not a unique identifier property", inp.IDProperty), nil)
			return
		}
		props, err := decodeProps(inp.Properties)
		if err != nil {
			s.violationLocked(r, err.Error())
			writeError(w, 400, "VALIDATION_ERROR", err.Error(), nil)
			return
		}
		if id := s.findUnique(objType, inp.IDProperty, inp.ID); id != "" {
			for k, v := range props {
				s.objects[objType][id][k] = v
			}
			s.objects[objType][id]["lastmodifieddate"] = time.Now().UTC().Format(time.RFC3339Nano)
			results = append(results, result{id, false})
			continue
		}
		if msg := requiredProps(objType, props); msg != "" {
			s.violationLocked(r, msg)
			writeError(w, 400, "VALIDATION_ERROR", msg, nil)
			return
		}
		props[inp.IDProperty] = inp.ID
		results = append(results, result{s.create(objType, props), true})
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	out := []map[string]any{}
	for _, res := range results {
		o := s.render(objType, res.id, nil, true)
		o["new"] = res.isNew
		out = append(out, o)
	}
	writeJSON(w, 200, map[string]any{"status": "COMPLETE", "results": out, "startedAt": now, "completedAt": now})
}

func (s *Server) batchRead(w http.ResponseWriter, r *http.Request, objType string, body []byte) {
	var in struct {
		Inputs []struct {
			ID string `json:"id"`
		} `json:"inputs"`
		Properties []string `json:"properties"`
	}
	if err := strictDecode(body, &in); err != nil || len(in.Inputs) == 0 || len(in.Inputs) > 100 {
		s.reject(w, r, 400, "VALIDATION_ERROR", fmt.Sprintf("inputs: 1..100 required (%v)", err))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	var missing []string
	for _, inp := range in.Inputs {
		if s.objects[objType][inp.ID] == nil {
			missing = append(missing, inp.ID)
			continue
		}
		out = append(out, s.render(objType, inp.ID, in.Properties, false))
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	resp := map[string]any{"status": "COMPLETE", "results": out, "startedAt": now, "completedAt": now}
	status := 200
	if len(missing) > 0 {
		status = 207
		resp["errors"] = []map[string]any{{"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Could not get some objects", "context": map[string]any{"ids": missing}}}
	}
	writeJSON(w, status, resp)
}

// render returns the object with the requested properties (null when
// unset), like HubSpot; all=true returns every property.
func (s *Server) render(objType, id string, props []string, all bool) map[string]any {
	o := s.objects[objType][id]
	p := map[string]any{}
	for _, k := range []string{"hs_object_id", "createdate", "lastmodifieddate"} {
		p[k] = o[k]
	}
	if all {
		for k, v := range o {
			p[k] = v
		}
	}
	for _, k := range props {
		if v, ok := o[k]; ok {
			p[k] = v
		} else {
			p[k] = nil
		}
	}
	created := s.created[objType+"/"+id].Format(time.RFC3339Nano)
	return map[string]any{"id": id, "properties": p, "createdAt": created, "updatedAt": o["lastmodifieddate"], "archived": false}
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, objType, id string) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if ip := q.Get("idProperty"); ip != "" {
		id = s.findUnique(objType, ip, id)
	}
	if s.objects[objType][id] == nil {
		writeError(w, 404, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	var props []string
	if p := q.Get("properties"); p != "" {
		props = strings.Split(p, ",")
	}
	out := s.render(objType, id, props, false)
	if a := q.Get("associations"); a != "" {
		assocs := map[string]any{}
		for _, to := range strings.Split(a, ",") {
			if !objectTypes[to] {
				s.violationLocked(r, "unknown association type "+to)
				writeError(w, 400, "VALIDATION_ERROR", "Unknown object type "+to, nil)
				return
			}
			ids := s.assoc[objType+"/"+id+"/"+to]
			if len(ids) == 0 {
				continue
			}
			var res []map[string]string
			for i, tid := range ids {
				if i == s.assocPage {
					break
				}
				res = append(res, map[string]string{"id": tid, "type": singular[objType] + "_to_" + singular[to]})
			}
			l := map[string]any{"results": res}
			if len(ids) > s.assocPage {
				l["paging"] = map[string]any{"next": map[string]string{"after": strconv.Itoa(s.assocPage), "link": "?after=" + strconv.Itoa(s.assocPage)}}
			}
			assocs[to] = l
		}
		if len(assocs) > 0 {
			out["associations"] = assocs
		}
	}
	writeJSON(w, 200, out)
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, objType, id string, body []byte) {
	var in struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := strictDecode(body, &in); err != nil || in.Properties == nil {
		s.reject(w, r, 400, "VALIDATION_ERROR", fmt.Sprintf("properties required (%v)", err))
		return
	}
	props, err := decodeProps(in.Properties)
	if err != nil {
		s.reject(w, r, 400, "VALIDATION_ERROR", err.Error())
		return
	}
	if msg := requiredProps("patch", props); msg != "" || (objType == "tasks" && props["hs_task_status"] != "" && props["hs_task_status"] != "NOT_STARTED" && props["hs_task_status"] != "COMPLETED") {
		s.reject(w, r, 400, "VALIDATION_ERROR", "hs_task_status must be NOT_STARTED or COMPLETED")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ip := r.URL.Query().Get("idProperty"); ip != "" {
		id = s.findUnique(objType, ip, id)
	}
	o := s.objects[objType][id]
	if o == nil {
		writeError(w, 404, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	for k, v := range props {
		o[k] = v
	}
	o["lastmodifieddate"] = time.Now().UTC().Format(time.RFC3339Nano)
	writeJSON(w, 200, s.render(objType, id, nil, true))
}

func (s *Server) listAssoc(w http.ResponseWriter, r *http.Request, objType, id, toType string) {
	q := r.URL.Query()
	limit := 500
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			s.reject(w, r, 400, "VALIDATION_ERROR", "limit must be 1..500")
			return
		}
		limit = n
	}
	after, _ := strconv.Atoi(q.Get("after")) // absent: 0
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.objects[objType][id] == nil {
		writeError(w, 404, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	ids := s.assoc[objType+"/"+id+"/"+toType]
	res := []map[string]any{}
	for i := after; i < len(ids) && i < after+limit; i++ {
		res = append(res, map[string]any{"toObjectId": ids[i], "associationTypes": []map[string]any{{"category": "HUBSPOT_DEFINED", "typeId": 1, "label": nil}}})
	}
	out := map[string]any{"results": res}
	if after+limit < len(ids) {
		out["paging"] = map[string]any{"next": map[string]string{"after": strconv.Itoa(after + limit), "link": "?after=" + strconv.Itoa(after+limit)}}
	}
	writeJSON(w, 200, out)
}

func (s *Server) defaultAssoc(w http.ResponseWriter, r *http.Request, fromType, fromID, toType, toID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.objects[fromType][fromID] == nil || s.objects[toType][toID] == nil {
		writeError(w, 404, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	s.link(fromType, fromID, toType, toID)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	typeID := assocTypes[fromType]
	writeJSON(w, 200, map[string]any{"status": "COMPLETE", "startedAt": now, "completedAt": now, "results": []map[string]any{{
		"from": map[string]string{"id": fromID}, "to": map[string]string{"id": toID},
		"associationSpec": map[string]any{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": typeID}}}})
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

package salesforce

import (
	"encoding/json"
	"fmt"
	"strings"
)

// sfError is one entry of Salesforce's JSON error array.
type sfError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

// decodeErrors parses an error body: normally an array, occasionally a
// single object.
func decodeErrors(b []byte) []sfError {
	var arr []sfError
	if err := json.Unmarshal(b, &arr); err == nil {
		return arr
	}
	var one sfError
	if err := json.Unmarshal(b, &one); err == nil && (one.ErrorCode != "" || one.Message != "") {
		return []sfError{one}
	}
	return nil
}

// record is one SOQL result row: field name → value (string, float64, bool,
// nil or a nested relationship object).
type record map[string]any

func (r record) str(field string) string {
	var cur any = map[string]any(r)
	for _, part := range strings.Split(field, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[part]
	}
	switch v := cur.(type) {
	case string:
		return v
	case float64:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%f", v), "0"), ".")
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return ""
}

func (r record) num(field string) float64 {
	if v, ok := r[field].(float64); ok {
		return v
	}
	return 0
}

type queryResponse struct {
	TotalSize      int      `json:"totalSize"`
	Done           bool     `json:"done"`
	Records        []record `json:"records"`
	NextRecordsURL string   `json:"nextRecordsUrl,omitempty"`
}

func decodeQuery(b []byte) (queryResponse, error) {
	var q queryResponse
	if err := json.Unmarshal(b, &q); err != nil {
		return q, fmt.Errorf("decode query response: %w", err)
	}
	return q, nil
}

type upsertResponse struct {
	ID      string    `json:"id"`
	Success bool      `json:"success"`
	Errors  []sfError `json:"errors"`
	Created *bool     `json:"created,omitempty"`
}

type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	InstanceURL      string `json:"instance_url"`
	TokenType        string `json:"token_type"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// soqlString quotes s as a SOQL string literal.
func soqlString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\b", `\b`, "\f", `\f`, `"`, `\"`)
	return "'" + r.Replace(s) + "'"
}

// soqlLike quotes s as a LIKE '%s%' pattern, escaping the wildcards in s.
func soqlLike(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
	r := strings.NewReplacer(`'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`, `"`, `\"`)
	return "'%" + r.Replace(s) + "%'"
}

func soqlList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = soqlString(v)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// validID reports whether s looks like a Salesforce record id (15 or 18
// alphanumerics); anything else cannot exist and must not reach SOQL.
func validID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

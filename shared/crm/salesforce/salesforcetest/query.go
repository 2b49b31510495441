package salesforcetest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// relationships maps "Object.Relationship" to the lookup field and target.
var relationships = map[string]struct{ field, target string }{
	"Contact.Account":     {"AccountId", "Account"},
	"Opportunity.Account": {"AccountId", "Account"},
	"Task.Who":            {"WhoId", "Contact"},
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	q, err := parseSOQL(r.URL.Query().Get("q"))
	if err != nil {
		s.reject(w, r, 400, "MALFORMED_QUERY", err.Error())
		return
	}
	if msg := validate(q); msg != "" {
		s.reject(w, r, 400, "INVALID_FIELD", msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := s.eval(q)
	out := make([]map[string]any, 0, len(rows))
	for _, rec := range rows {
		out = append(out, s.project(q, rec))
	}
	writeJSON(w, 200, map[string]any{"totalSize": len(out), "done": true, "records": out})
}

// validate checks that the object and every field exist.
func validate(q *query) string {
	sc, ok := schema[q.object]
	if !ok {
		return fmt.Sprintf("sObject type '%s' is not supported", q.object)
	}
	known := func(f string) bool {
		if rel, field, ok := strings.Cut(f, "."); ok {
			rl, ok := relationships[q.object+"."+rel]
			if !ok {
				return false
			}
			t := schema[rl.target]
			return slices.Contains(t.writable, field) || slices.Contains(t.readOnly, field)
		}
		return slices.Contains(sc.writable, f) || slices.Contains(sc.readOnly, f)
	}
	for _, f := range q.fields {
		if !known(f) {
			return fmt.Sprintf("No such column '%s' on entity '%s'", f, q.object)
		}
	}
	for _, k := range q.order {
		if !known(k.field) {
			return fmt.Sprintf("No such column '%s' on entity '%s'", k.field, q.object)
		}
	}
	var walk func(c cond) string
	walk = func(c cond) string {
		switch x := c.(type) {
		case *boolCond:
			for _, t := range x.terms {
				if m := walk(t); m != "" {
					return m
				}
			}
		case *cmpCond:
			if !known(x.field) {
				return fmt.Sprintf("No such column '%s' on entity '%s'", x.field, q.object)
			}
			if x.sub != nil {
				if m := validate(x.sub); m != "" {
					return m
				}
			}
		}
		return ""
	}
	if q.where != nil {
		return walk(q.where)
	}
	return ""
}

func (s *Server) field(object string, rec map[string]any, f string) any {
	if rel, field, ok := strings.Cut(f, "."); ok {
		rl := relationships[object+"."+rel]
		parent := s.records[rl.target][str(rec[rl.field])]
		if parent == nil {
			return nil
		}
		return parent[field]
	}
	return rec[f]
}

func (s *Server) eval(q *query) []map[string]any {
	var rows []map[string]any
	for _, rec := range s.records[q.object] {
		if q.where == nil || s.match(q.object, rec, q.where) {
			rows = append(rows, rec)
		}
	}
	slices.SortStableFunc(rows, func(a, b map[string]any) int { return strings.Compare(str(a["Id"]), str(b["Id"])) })
	slices.SortStableFunc(rows, func(a, b map[string]any) int {
		for _, k := range q.order {
			c := compare(s.field(q.object, a, k.field), s.field(q.object, b, k.field))
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	if q.limit >= 0 && len(rows) > q.limit {
		rows = rows[:q.limit]
	}
	return rows
}

// compare orders values with nulls first; strings case-insensitively.
func compare(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if x, ok := a.(float64); ok {
		if y, ok := b.(float64); ok {
			return cmpFloat(x, y)
		}
	}
	return strings.Compare(strings.ToLower(str(a)), strings.ToLower(str(b)))
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func (s *Server) match(object string, rec map[string]any, c cond) bool {
	switch x := c.(type) {
	case *boolCond:
		for _, t := range x.terms {
			m := s.match(object, rec, t)
			if x.op == "AND" && !m {
				return false
			}
			if x.op == "OR" && m {
				return true
			}
		}
		return x.op == "AND"
	case *cmpCond:
		v := s.field(object, rec, x.field)
		switch x.op {
		case "IN", "NOTIN":
			vals := x.values
			if x.sub != nil {
				for _, row := range s.eval(x.sub) {
					vals = append(vals, value{"string", str(s.field(x.sub.object, row, x.sub.fields[0]))})
				}
			}
			in := slices.ContainsFunc(vals, func(l value) bool { return equal(v, l) })
			return in == (x.op == "IN")
		case "LIKE":
			return v != nil && like(str(v), x.value.text)
		case "=":
			return equal(v, x.value)
		case "!=":
			return !equal(v, x.value)
		}
		if v == nil || x.value.kind == "null" {
			return false
		}
		c := compareLit(v, x.value)
		switch x.op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		case ">=":
			return c >= 0
		}
	}
	return false
}

func equal(v any, l value) bool {
	if l.kind == "null" {
		return v == nil || v == ""
	}
	if v == nil {
		return false
	}
	return compareLit(v, l) == 0
}

func compareLit(v any, l value) int {
	switch l.kind {
	case "number":
		f, _ := strconv.ParseFloat(l.text, 64) // validated by the parser
		x, ok := v.(float64)
		if !ok {
			x, _ = strconv.ParseFloat(str(v), 64) // non-numbers compare as 0
		}
		return cmpFloat(x, f)
	case "date":
		sv := str(v)
		if len(sv) > len(l.text) {
			sv = sv[:len(l.text)]
		}
		return strings.Compare(sv, l.text)
	case "bool":
		return strings.Compare(str(v), l.text)
	}
	return strings.Compare(strings.ToLower(str(v)), strings.ToLower(l.text))
}

// like matches SOQL LIKE: % any run, _ one character, \% and \_ literal;
// case-insensitive.
func like(s, pattern string) bool {
	sr := []rune(strings.ToLower(s))
	pr := []rune(strings.ToLower(pattern))
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		for j < len(pr) {
			switch {
			case pr[j] == '\\' && j+1 < len(pr):
				if i >= len(sr) || sr[i] != pr[j+1] {
					return false
				}
				i, j = i+1, j+2
			case pr[j] == '%':
				for k := i; k <= len(sr); k++ {
					if rec(k, j+1) {
						return true
					}
				}
				return false
			case pr[j] == '_':
				if i >= len(sr) {
					return false
				}
				i, j = i+1, j+1
			default:
				if i >= len(sr) || sr[i] != pr[j] {
					return false
				}
				i, j = i+1, j+1
			}
		}
		return i == len(sr)
	}
	return rec(0, 0)
}

func (s *Server) project(q *query, rec map[string]any) map[string]any {
	id := str(rec["Id"])
	out := map[string]any{"attributes": map[string]string{"type": q.object, "url": "/services/data/" + APIVersion + "/sobjects/" + q.object + "/" + id}}
	for _, f := range q.fields {
		rel, field, ok := strings.Cut(f, ".")
		if !ok {
			out[f] = rec[f]
			continue
		}
		rl := relationships[q.object+"."+rel]
		parent := s.records[rl.target][str(rec[rl.field])]
		if parent == nil {
			out[rel] = nil
			continue
		}
		m, _ := out[rel].(map[string]any)
		if m == nil {
			m = map[string]any{"attributes": map[string]string{"type": rl.target, "url": "/services/data/" + APIVersion + "/sobjects/" + rl.target + "/" + str(parent["Id"])}}
			out[rel] = m
		}
		m[field] = parent[field]
	}
	return out
}

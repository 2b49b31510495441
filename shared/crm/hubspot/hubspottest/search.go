package hubspottest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

var operators = map[string]bool{"EQ": true, "NEQ": true, "LT": true, "LTE": true, "GT": true, "GTE": true, "BETWEEN": true,
	"IN": true, "NOT_IN": true, "HAS_PROPERTY": true, "NOT_HAS_PROPERTY": true, "CONTAINS_TOKEN": true, "NOT_CONTAINS_TOKEN": true}

type searchFilter struct {
	PropertyName string   `json:"propertyName"`
	Operator     string   `json:"operator"`
	Value        *string  `json:"value"`
	Values       []string `json:"values"`
	HighValue    *string  `json:"highValue"`
}

type searchRequest struct {
	FilterGroups []struct {
		Filters []searchFilter `json:"filters"`
	} `json:"filterGroups"`
	Properties []string          `json:"properties"`
	Sorts      []json.RawMessage `json:"sorts"`
	Limit      *int              `json:"limit"`
	After      string            `json:"after"`
	Query      string            `json:"query"`
}

// queryProps are the default searchable contact properties of `query`.
var queryProps = []string{"firstname", "lastname", "email", "phone", "mobilephone", "company"}

func (s *Server) search(w http.ResponseWriter, r *http.Request, objType string, body []byte) {
	var in searchRequest
	if err := strictDecode(body, &in); err != nil {
		s.reject(w, r, 400, "VALIDATION_ERROR", "Invalid input JSON: "+err.Error())
		return
	}
	if msg := validateSearch(in); msg != "" {
		s.reject(w, r, 400, "VALIDATION_ERROR", msg)
		return
	}
	type sortKey struct {
		prop string
		desc bool
	}
	var sorts []sortKey
	for _, raw := range in.Sorts {
		var obj struct{ PropertyName, Direction string }
		var str string
		switch {
		case json.Unmarshal(raw, &obj) == nil && obj.PropertyName != "":
			sorts = append(sorts, sortKey{obj.PropertyName, obj.Direction == "DESCENDING"})
		case json.Unmarshal(raw, &str) == nil:
			sorts = append(sorts, sortKey{strings.TrimPrefix(str, "-"), strings.HasPrefix(str, "-")})
		default:
			s.reject(w, r, 400, "VALIDATION_ERROR", "invalid sort")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, o := range s.objects[objType] {
		if s.matches(objType, id, o, in) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		for _, k := range sorts {
			c := compareValues(s.objects[objType][a][k.prop], s.objects[objType][b][k.prop])
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	limit := 10
	if in.Limit != nil {
		limit = *in.Limit
	}
	start, _ := strconv.Atoi(in.After) // absent: 0
	res := []map[string]any{}
	for i := start; i < len(ids) && i < start+limit; i++ {
		res = append(res, s.render(objType, ids[i], in.Properties, false))
	}
	out := map[string]any{"total": len(ids), "results": res}
	if start+limit < len(ids) {
		out["paging"] = map[string]any{"next": map[string]string{"after": strconv.Itoa(start + limit)}}
	}
	writeJSON(w, 200, out)
}

func validateSearch(in searchRequest) string {
	if len(in.FilterGroups) > 6 {
		return fmt.Sprintf("too many filterGroups: %d > 6", len(in.FilterGroups))
	}
	if in.Limit != nil && (*in.Limit < 0 || *in.Limit > 200) {
		return "limit must be ≤ 200"
	}
	if len(in.Query) > 3000 {
		return "query too long"
	}
	n := 0
	for _, g := range in.FilterGroups {
		if len(g.Filters) == 0 {
			return "empty filterGroup"
		}
		for _, f := range g.Filters {
			n++
			if f.PropertyName == "" || !operators[f.Operator] {
				return fmt.Sprintf("invalid filter %q %q", f.PropertyName, f.Operator)
			}
			switch f.Operator {
			case "IN", "NOT_IN":
				if len(f.Values) == 0 || f.Value != nil {
					return f.Operator + " needs values (and no value)"
				}
			case "HAS_PROPERTY", "NOT_HAS_PROPERTY":
			case "BETWEEN":
				if f.Value == nil || f.HighValue == nil {
					return "BETWEEN needs value and highValue"
				}
			default:
				if f.Value == nil {
					return f.Operator + " needs value"
				}
			}
		}
	}
	if n > 18 {
		return "too many filters"
	}
	return ""
}

func (s *Server) matches(objType, id string, o map[string]string, in searchRequest) bool {
	if in.Query != "" {
		q := strings.ToLower(in.Query)
		hit := false
		for _, p := range queryProps {
			if strings.Contains(strings.ToLower(o[p]), q) {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	if len(in.FilterGroups) == 0 {
		return true
	}
	for _, g := range in.FilterGroups {
		all := true
		for _, f := range g.Filters {
			if !s.filterMatches(objType, id, o, f) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (s *Server) filterMatches(objType, id string, o map[string]string, f searchFilter) bool {
	var v string
	var has bool
	if strings.HasPrefix(f.PropertyName, "associations.") {
		to := f.PropertyName[len("associations."):] + "s"
		ids := s.assoc[objType+"/"+id+"/"+to]
		return f.Value != nil && slices.Contains(ids, *f.Value) == (f.Operator == "EQ")
	}
	v, has = o[f.PropertyName]
	has = has && v != ""
	val := ""
	if f.Value != nil {
		val = *f.Value
	}
	switch f.Operator {
	case "EQ":
		return has && compareValues(v, val) == 0
	case "NEQ":
		return !has || compareValues(v, val) != 0
	case "LT":
		return has && compareValues(v, val) < 0
	case "LTE":
		return has && compareValues(v, val) <= 0
	case "GT":
		return has && compareValues(v, val) > 0
	case "GTE":
		return has && compareValues(v, val) >= 0
	case "BETWEEN":
		return has && compareValues(v, val) >= 0 && compareValues(v, *f.HighValue) <= 0
	case "IN":
		return has && slices.Contains(f.Values, v)
	case "NOT_IN":
		return !has || !slices.Contains(f.Values, v)
	case "HAS_PROPERTY":
		return has
	case "NOT_HAS_PROPERTY":
		return !has
	case "CONTAINS_TOKEN":
		return has && strings.Contains(strings.ToLower(v), strings.ToLower(strings.Trim(val, "*")))
	case "NOT_CONTAINS_TOKEN":
		return !has || !strings.Contains(strings.ToLower(v), strings.ToLower(strings.Trim(val, "*")))
	}
	return false
}

// compareValues compares as epoch ms when both are times/numbers, else as strings.
func compareValues(a, b string) int {
	x, okA := asNumber(a)
	y, okB := asNumber(b)
	if okA && okB {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

func asNumber(s string) (float64, bool) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return float64(t.UnixMilli()), true
	}
	return 0, false
}

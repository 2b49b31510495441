package hubspot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// object is HubSpot's SimplePublicObject(WithAssociations). Property values
// are strings or null on the wire; props normalises them to strings.
type object struct {
	ID           string                     `json:"id"`
	Properties   map[string]json.RawMessage `json:"properties"`
	Associations map[string]assocList       `json:"associations,omitempty"`
	New          *bool                      `json:"new,omitempty"` // batch upsert results only
}

type assocList struct {
	Results []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"results"`
	Paging *paging `json:"paging,omitempty"`
}

type paging struct {
	Next *struct {
		After string `json:"after"`
		Link  string `json:"link,omitempty"`
	} `json:"next,omitempty"`
}

// prop returns a property as a string ("" for absent or null; numbers and
// booleans in their JSON text).
func (o object) prop(name string) string {
	raw, ok := o.Properties[name]
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	t := strings.TrimSpace(string(raw))
	if t == "null" {
		return ""
	}
	return t
}

type searchResponse struct {
	Total   int      `json:"total"`
	Results []object `json:"results"`
	Paging  *paging  `json:"paging,omitempty"`
}

type batchResponse struct {
	Status  string   `json:"status"`
	Results []object `json:"results"`
	Errors  []struct {
		Message  string `json:"message"`
		Category string `json:"category"`
	} `json:"errors,omitempty"`
}

// flexID accepts an id as a JSON string or number (v4 toObjectId).
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("toObjectId: %w", err)
	}
	if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
		return fmt.Errorf("toObjectId %s: not an integer", n)
	}
	*f = flexID(n.String())
	return nil
}

type v4AssocResponse struct {
	Results []struct {
		ToObjectID       flexID `json:"toObjectId"`
		AssociationTypes []struct {
			Category string `json:"category"`
			TypeID   int    `json:"typeId"`
		} `json:"associationTypes"`
	} `json:"results"`
	Paging *paging `json:"paging,omitempty"`
}

// apiErrorBody is HubSpot's Error (plus the 429 fields).
type apiErrorBody struct {
	Status        string `json:"status"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlationId"`
	Category      string `json:"category"`
	SubCategory   string `json:"subCategory"`
	ErrorType     string `json:"errorType"`
	PolicyName    string `json:"policyName"`
}

// decodeError parses an error body; ok is false when it is not HubSpot's
// JSON error shape (e.g. an HTML page from a proxy).
func decodeError(b []byte) (apiErrorBody, bool) {
	var e apiErrorBody
	if err := json.Unmarshal(b, &e); err != nil {
		return apiErrorBody{}, false
	}
	return e, e.Message != "" || e.Category != "" || e.PolicyName != ""
}

func decodeSearch(b []byte) (searchResponse, error) {
	var r searchResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decode search response: %w", err)
	}
	return r, nil
}

func decodeV4Assoc(b []byte) (v4AssocResponse, error) {
	var r v4AssocResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decode associations: %w", err)
	}
	return r, nil
}

// formatTime formats t for hs_timestamp (ISO-8601 UTC, milliseconds).
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// parseTime reads an hs_timestamp / date property: ISO-8601 or epoch ms.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC()
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

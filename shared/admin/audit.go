package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// AuditEntry is one audited write.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Who    string    `json:"who"`
	Action string    `json:"action"`
	Detail string    `json:"detail,omitempty"`
}

// AuditKey is the record key of one UTC day's audit log.
func AuditKey(day string) string { return "admin:audit:" + day }

// auditWrite appends an entry to today's audit record (optimistic
// concurrency, retried). A failure is logged; the write it describes has
// already happened.
func (h *Handler) auditWrite(ctx context.Context, who, action, detail string) {
	e := AuditEntry{At: h.now().UTC(), Who: who, Action: action, Detail: detail}
	key := AuditKey(store.DayKey(e.At))
	for attempt := 0; attempt < 8; attempt++ {
		var cur []AuditEntry
		var version int64
		rec, err := h.cfg.Records.Get(ctx, key)
		switch {
		case err == nil:
			_ = json.Unmarshal(rec.Value, &cur)
			version = rec.Version
		case !errors.Is(err, domain.ErrNotFound):
			h.log.Error("admin: audit read", "err", err, "action", action)
			return
		}
		data, _ := json.Marshal(append(cur, e))
		if _, err = h.cfg.Records.Put(ctx, key, data, version, h.cfg.Retention); errors.Is(err, domain.ErrConflict) {
			continue
		}
		if err != nil {
			h.log.Error("admin: audit write", "err", err, "action", action)
		}
		h.log.Info("admin: audit", "who", who, "action", action)
		return
	}
	h.log.Error("admin: audit write kept conflicting", "action", action)
}

// Audit returns the audit entries of the last days days, newest first.
func (h *Handler) Audit(ctx context.Context, days int) ([]AuditEntry, error) {
	var out []AuditEntry
	now := h.now().UTC()
	for i := 0; i < days; i++ {
		rec, err := h.cfg.Records.Get(ctx, AuditKey(store.DayKey(now.AddDate(0, 0, -i))))
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var es []AuditEntry
		_ = json.Unmarshal(rec.Value, &es)
		for j := len(es) - 1; j >= 0; j-- {
			out = append(out, es[j])
		}
	}
	if out == nil {
		out = []AuditEntry{}
	}
	return out, nil
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request, _ principal) {
	days, _ := strconv.Atoi(r.URL.Query().Get("days"))
	if days <= 0 || days > 90 {
		days = 7
	}
	es, err := h.Audit(r.Context(), days)
	if err != nil {
		h.fail(w, "audit", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": es})
}

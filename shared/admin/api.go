package admin

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"wecom-crm-bot/shared/analytics"
	"wecom-crm-bot/shared/bot"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/notes"
)

const maxBody = 1 << 20

// rangeOf reads from/to (YYYY-MM-DD, default the last 7 days) and channel.
func (h *Handler) rangeOf(r *http.Request) (analytics.Range, error) {
	q := r.URL.Query()
	to := h.now().UTC()
	from := to.AddDate(0, 0, -6)
	var err error
	if v := q.Get("to"); v != "" {
		if to, err = time.Parse(time.DateOnly, v); err != nil {
			return analytics.Range{}, fmt.Errorf("to: %w", domain.ErrInvalid)
		}
	}
	if v := q.Get("from"); v != "" {
		if from, err = time.Parse(time.DateOnly, v); err != nil {
			return analytics.Range{}, fmt.Errorf("from: %w", domain.ErrInvalid)
		}
	}
	rg := analytics.Range{From: from, To: to, Channel: q.Get("channel")}
	return rg, rg.Validate()
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return fmt.Errorf("body: %v: %w", err, domain.ErrInvalid)
	}
	return nil
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request, _ principal) {
	rg, err := h.rangeOf(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	if kb, _, err := h.cfg.Knowledge.Current(r.Context()); err == nil {
		rg.IsFAQ = func(id string) bool { _, ok := kb.Entry(id); return ok }
	}
	rep, err := h.cfg.Reports.Report(r.Context(), rg)
	if err != nil {
		h.fail(w, "report", err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (h *Handler) unanswered(w http.ResponseWriter, r *http.Request, _ principal) {
	rg, err := h.rangeOf(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	groups, err := h.cfg.Reports.Unanswered(r.Context(), rg)
	if err != nil {
		h.fail(w, "unanswered", err)
		return
	}
	kb, _, _ := h.cfg.Knowledge.Current(r.Context())
	type faqRef struct {
		ID       string `json:"id"`
		Question string `json:"question"`
	}
	var faqs []faqRef
	if kb != nil {
		for _, f := range kb.FAQ {
			faqs = append(faqs, faqRef{f.ID, f.Question})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": groups, "faqs": faqs})
}

func (h *Handler) fail(w http.ResponseWriter, what string, err error) {
	st := statusOf(err)
	if st == http.StatusInternalServerError {
		h.log.Error("admin: "+what, "err", err)
		writeErr(w, st, what+" failed")
		return
	}
	writeErr(w, st, err.Error())
}

// rawKnowledge returns the live knowledge file and its version (0: the bundled default).
func (h *Handler) rawKnowledge(r *http.Request) ([]byte, int64, error) {
	rec, err := h.cfg.Records.Get(r.Context(), h.cfg.KnowledgeKey)
	if errors.Is(err, domain.ErrNotFound) {
		return bot.DefaultKnowledgeYAML(), 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	return rec.Value, rec.Version, nil
}

func (h *Handler) getKnowledge(w http.ResponseWriter, r *http.Request, _ principal) {
	data, v, err := h.rawKnowledge(r)
	if err != nil {
		h.fail(w, "knowledge", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": v, "yaml": string(data)})
}

type knowledgeReq struct {
	YAML        string `json:"yaml"`
	BaseVersion *int64 `json:"base_version,omitempty"`
}

func (h *Handler) validateKnowledge(w http.ResponseWriter, r *http.Request, _ principal) {
	var req knowledgeReq
	if err := decode(w, r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	kb, err := bot.ParseKnowledge([]byte(req.YAML))
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "errors": ValidationErrors(err)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "errors": []LineError{}, "faqs": len(kb.FAQ), "rules": len(kb.Rules)})
}

// publish stores data as the next knowledge version if base (when given)
// is still the live version, and audits it.
func (h *Handler) publish(r *http.Request, who, action, detail string, data []byte, base *int64) (int64, error) {
	if base != nil {
		_, cur, err := h.rawKnowledge(r)
		if err != nil {
			return 0, err
		}
		if cur != *base {
			return 0, fmt.Errorf("knowledge changed since version %d (now %d): %w", *base, cur, domain.ErrConflict)
		}
	}
	v, err := h.cfg.Knowledge.Publish(r.Context(), data)
	if err != nil {
		return 0, err
	}
	h.auditWrite(r.Context(), who, action, fmt.Sprintf("version %d; %s", v, detail))
	return v, nil
}

func (h *Handler) putKnowledge(w http.ResponseWriter, r *http.Request, p principal) {
	var req knowledgeReq
	if err := decode(w, r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	v, err := h.publish(r, p.who, "knowledge.publish", fmt.Sprintf("%d bytes", len(req.YAML)), []byte(req.YAML), req.BaseVersion)
	if err != nil {
		if errors.Is(err, domain.ErrInvalid) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "invalid knowledge; the live version is unchanged", "errors": ValidationErrors(err)})
			return
		}
		h.fail(w, "publish", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": v})
}

type faqReq struct {
	Question    string `json:"question"`
	FAQID       string `json:"faq_id,omitempty"` // add as a variant of this entry
	NewID       string `json:"new_id,omitempty"` // or create a new entry with this id…
	Answer      string `json:"answer,omitempty"` // …and this answer
	BaseVersion *int64 `json:"base_version,omitempty"`
}

func (h *Handler) unansweredToFAQ(w http.ResponseWriter, r *http.Request, p principal) {
	var req faqReq
	if err := decode(w, r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	req.Question = strings.TrimSpace(req.Question)
	if req.Question == "" || len([]rune(req.Question)) > 500 {
		writeErr(w, http.StatusBadRequest, "question: want 1..500 characters")
		return
	}
	data, cur, err := h.rawKnowledge(r)
	if err != nil {
		h.fail(w, "knowledge", err)
		return
	}
	if req.BaseVersion == nil {
		req.BaseVersion = &cur
	}
	var out []byte
	var action string
	switch {
	case req.FAQID != "":
		out, err = AddVariant(data, req.FAQID, req.Question)
		action = "faq.add_variant"
	case strings.TrimSpace(req.Answer) != "":
		id := strings.TrimSpace(req.NewID)
		if id == "" {
			id = fmt.Sprintf("faq_%d", h.now().Unix())
		}
		out, err = AddEntry(data, id, req.Question, strings.TrimSpace(req.Answer))
		action = "faq.new_entry"
	default:
		err = fmt.Errorf("want faq_id (variant) or answer (new entry): %w", domain.ErrInvalid)
	}
	if err != nil {
		h.fail(w, "faq", err)
		return
	}
	v, err := h.publish(r, p.who, action, fmt.Sprintf("faq %s%s", req.FAQID, req.NewID), out, req.BaseVersion)
	if err != nil {
		if errors.Is(err, domain.ErrInvalid) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "the edit made the knowledge invalid; nothing published", "errors": ValidationErrors(err)})
			return
		}
		h.fail(w, "publish", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": v})
}

type previewReq struct {
	YAML    string `json:"yaml,omitempty"` // empty: the live version
	Text    string `json:"text"`
	Channel string `json:"channel,omitempty"`
}

func (h *Handler) preview(w http.ResponseWriter, r *http.Request, _ principal) {
	var req previewReq
	if err := decode(w, r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	if h.cfg.Preview == nil {
		writeErr(w, http.StatusNotImplemented, "preview not available")
		return
	}
	var kb *bot.Knowledge
	var err error
	if strings.TrimSpace(req.YAML) != "" {
		if kb, err = bot.ParseKnowledge([]byte(req.YAML)); err != nil {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "errors": ValidationErrors(err)})
			return
		}
	} else if kb, _, err = h.cfg.Knowledge.Current(r.Context()); err != nil {
		h.fail(w, "knowledge", err)
		return
	}
	out, err := h.cfg.Preview(r.Context(), kb, bot.Input{Now: h.now(), Channel: req.Channel, Text: strings.TrimSpace(req.Text), Conversation: &domain.Conversation{}})
	if err != nil {
		h.fail(w, "preview", err)
		return
	}
	var replies []string
	for _, rp := range out.Replies {
		txt := rp.Text
		for _, m := range rp.Menu {
			txt += "\n· " + m.Text
		}
		replies = append(replies, txt)
	}
	res := map[string]any{"ok": true, "replies": replies, "intent": out.Intent, "confidence": out.Confidence,
		"answered": out.Answered, "clarified": out.Clarified}
	if out.Handoff != nil {
		res["handoff"] = out.Handoff.Reason
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *Handler) export(w http.ResponseWriter, r *http.Request, _ principal) {
	rg, err := h.rangeOf(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	file := r.PathValue("file")
	var rows [][]string
	switch file {
	case "metrics.csv":
		rep, err := h.cfg.Reports.Report(r.Context(), rg)
		if err != nil {
			h.fail(w, "export", err)
			return
		}
		rows = append(rows, []string{"day", "channel", "messages_in", "messages_out", "answered", "clarified", "unanswered", "conversations", "ended", "handoffs", "csat_count", "csat_avg"})
		for _, d := range rep.Days {
			rows = append(rows, []string{d.Day, rg.Channel, i64(d.MessagesIn), i64(d.MessagesOut), i64(d.Answered), i64(d.Clarified),
				i64(d.Unanswered), i64(d.Conversations), i64(d.Ended), i64(d.Handoffs), i64(d.CSATCount), strconv.FormatFloat(d.CSATAvg, 'f', 2, 64)})
		}
	case "conversations.csv", "unanswered.csv":
		kind := analytics.KindConversation
		if file == "unanswered.csv" {
			kind = analytics.KindUnanswered
		}
		evs, err := h.cfg.Reports.Events(r.Context(), rg, kind)
		if err != nil {
			h.fail(w, "export", err)
			return
		}
		rows = append(rows, []string{"at", "channel", "kind", "reason", "score", "text"})
		for _, e := range evs {
			score := ""
			if e.Score > 0 {
				score = strconv.Itoa(e.Score)
			}
			rows = append(rows, []string{e.At.UTC().Format(time.RFC3339), e.Channel, e.Kind, e.Reason, score, e.Text})
		}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+file+`"`)
	writeCSV(w, rows)
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// writeCSV writes rows, neutralising cells a spreadsheet would run as a
// formula (CSV injection).
func writeCSV(w io.Writer, rows [][]string) {
	cw := csv.NewWriter(w)
	for _, row := range rows {
		for i, c := range row {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				row[i] = "'" + c
			}
		}
		_ = cw.Write(row)
	}
	cw.Flush()
}

func (h *Handler) topic(r *http.Request, t string) (string, error) {
	if !slices.Contains(h.cfg.DeadTopics, t) {
		return "", fmt.Errorf("topic %q: want one of %v: %w", t, h.cfg.DeadTopics, domain.ErrInvalid)
	}
	return t, nil
}

func (h *Handler) deadLetters(w http.ResponseWriter, r *http.Request, _ principal) {
	type item struct {
		Topic     string    `json:"topic"`
		ID        string    `json:"id"`
		Attempts  int       `json:"attempts"`
		LastError string    `json:"last_error"`
		Created   time.Time `json:"created"`
	}
	topics := h.cfg.DeadTopics
	if t := r.URL.Query().Get("topic"); t != "" {
		if _, err := h.topic(r, t); err != nil {
			writeErr(w, http.StatusBadRequest, err.Error())
			return
		}
		topics = []string{t}
	}
	out := []item{}
	for _, t := range topics {
		dead, err := h.cfg.Outbox.Dead(r.Context(), t, 200)
		if err != nil {
			h.fail(w, "dead letters", err)
			return
		}
		for _, it := range dead {
			out = append(out, item{t, it.ID, it.Attempts, it.LastError, it.Created})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"topics": h.cfg.DeadTopics, "items": out})
}

func (h *Handler) replay(w http.ResponseWriter, r *http.Request, p principal) {
	var req struct {
		Topic string   `json:"topic"`
		IDs   []string `json:"ids"` // empty: all
	}
	if err := decode(w, r, &req); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	t, err := h.topic(r, req.Topic)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	n, err := notes.Replay(r.Context(), h.cfg.Outbox, t, req.IDs...)
	if n > 0 || err == nil {
		h.auditWrite(r.Context(), p.who, "deadletters.replay", fmt.Sprintf("topic %s: %d revived (%d asked)", t, n, len(req.IDs)))
	}
	if err != nil {
		h.fail(w, "replay", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"replayed": n})
}

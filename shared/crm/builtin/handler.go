package builtin

import (
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
)

//go:embed templates/*.html
var templateFS embed.FS

// displayZone is the time zone of the web page (the sales team's).
var displayZone = time.FixedZone("CST", 8*3600)

// Handler returns the web page and JSON API of the CRM, rooted at /crm/.
// Mount it at "/crm/" of a mux (or use it as the whole server).
func (c *CRM) Handler() http.Handler {
	tmpl := template.Must(template.New("").Funcs(template.FuncMap{
		"date": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(displayZone).Format(time.DateOnly)
		},
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(displayZone).Format("2006-01-02 15:04")
		},
	}).ParseFS(templateFS, "templates/*.html"))

	page := func(w http.ResponseWriter, name string, data any) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := tmpl.ExecuteTemplate(w, name, data); err != nil {
			http.Error(w, "render failed", http.StatusInternalServerError)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /crm/{$}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("q")
		c.mu.Lock()
		cs := c.search(q, 500)
		c.mu.Unlock()
		page(w, "list", map[string]any{"Title": "联系人", "Query": q, "Contacts": cs})
	})
	mux.HandleFunc("GET /crm/contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		cc, err := c.fullContext(r.PathValue("id"))
		if err != nil {
			http.Error(w, "contact not found", http.StatusNotFound)
			return
		}
		page(w, "contact", map[string]any{"Title": cc.Contact.Name, "Ctx": cc})
	})
	mux.HandleFunc("GET /crm/api/contacts", func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		cs := c.search(r.URL.Query().Get("q"), 500)
		c.mu.Unlock()
		writeJSON(w, http.StatusOK, cs)
	})
	mux.HandleFunc("GET /crm/api/contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		cc, err := c.fullContext(r.PathValue("id"))
		writeResult(w, cc, err)
	})
	mux.HandleFunc("GET /crm/api/notes", func(w http.ResponseWriter, r *http.Request) {
		cid := r.URL.Query().Get("contact_id")
		c.mu.Lock()
		var ns []domain.Note
		for _, n := range c.data.Notes {
			if cid == "" || n.ContactID == cid {
				ns = append(ns, n)
			}
		}
		c.mu.Unlock()
		sortNotes(ns)
		writeJSON(w, http.StatusOK, ns)
	})
	mux.HandleFunc("GET /crm/api/tasks", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit")) // 0 (default) when absent or bad
		ts := c.listTasks(crm.TaskQuery{OwnerID: q.Get("owner_id"), ContactID: q.Get("contact_id"), Limit: limit}, q.Get("all") == "1")
		writeJSON(w, http.StatusOK, ts)
	})
	mux.HandleFunc("GET /crm/api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		o, err := c.OrderByID(r.Context(), r.PathValue("id"))
		writeResult(w, o, err)
	})
	return mux
}

func writeResult(w http.ResponseWriter, v any, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.Is(err, domain.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
	default:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

package emulator

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
)

//go:embed web
var webFS embed.FS

// uiHandler serves the chat page (/emulator/) and its JSON API
// (/emulator/api/...):
//
//	GET  /emulator/api/state?user=ID    → {user, open_kfid, state, servicer, lines, stats}
//	POST /emulator/api/say              {user, text}
//	POST /emulator/api/click            {user, menu_id, text}
//	POST /emulator/api/enter            {user, scene}
//	POST /emulator/api/takeover         {user, servicer}
//	POST /emulator/api/agent_say        {user, servicer, text}
//	POST /emulator/api/end              {user}
//
// Actions answer {"ok":true} or HTTP 400 {"error":"…"}.
func (e *Emulator) uiHandler() http.Handler {
	static, err := fs.Sub(webFS, "web")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	mux := http.NewServeMux()
	mux.Handle("GET /emulator/", http.StripPrefix("/emulator/", http.FileServerFS(static)))
	mux.HandleFunc("GET /emulator/api/state", e.uiState)
	actions := map[string]func(r *http.Request, a uiAction) error{
		"say": func(r *http.Request, a uiAction) error { return e.CustomerSays(r.Context(), a.User, a.Text) },
		"click": func(r *http.Request, a uiAction) error {
			return e.CustomerClicksMenu(r.Context(), a.User, a.MenuID, a.Text)
		},
		"enter":     func(r *http.Request, a uiAction) error { return e.CustomerEnters(r.Context(), a.User, a.Scene) },
		"takeover":  func(r *http.Request, a uiAction) error { return e.AgentTakesOver(r.Context(), a.User, a.Servicer) },
		"agent_say": func(r *http.Request, a uiAction) error { return e.AgentSays(r.Context(), a.User, a.Servicer, a.Text) },
		"end":       func(r *http.Request, a uiAction) error { return e.EndSession(r.Context(), a.User) },
	}
	for name, act := range actions {
		mux.HandleFunc("POST /emulator/api/"+name, func(w http.ResponseWriter, r *http.Request) {
			var a uiAction
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&a); err != nil {
				writeJSON(w, http.StatusBadRequest, obj{"error": "malformed JSON"})
				return
			}
			if err := act(r, a); err != nil {
				status := http.StatusInternalServerError
				if errors.Is(err, ErrInvalid) {
					status = http.StatusBadRequest
				}
				writeJSON(w, status, obj{"error": err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, obj{"ok": true})
		})
	}
	return mux
}

// uiAction is the body of the page's POST actions.
type uiAction struct {
	User     string `json:"user"`
	Text     string `json:"text"`
	MenuID   string `json:"menu_id"`
	Scene    string `json:"scene"`
	Servicer string `json:"servicer"`
}

// uiState serves the page's poll: the transcript, session state and stats.
func (e *Emulator) uiState(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	lines := e.Transcript(user)
	if lines == nil {
		lines = []ChatLine{}
	}
	state, servicer := e.SessionState(user)
	writeJSON(w, http.StatusOK, obj{
		"user": user, "open_kfid": e.cfg.OpenKfID, "state": state, "servicer": servicer,
		"lines": lines, "stats": e.Stats(),
	})
}

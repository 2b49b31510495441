package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wecom-crm-bot/infra/emulator"
)

var fuzzPaths = []string{
	"/cgi-bin/kf/sync_msg", "/cgi-bin/kf/send_msg", "/cgi-bin/kf/send_msg_on_event",
	"/cgi-bin/kf/service_state/get", "/cgi-bin/kf/service_state/trans", "/cgi-bin/kf/customer/batchget",
	"/cgi-bin/message/send", "/cgi-bin/externalcontact/send_welcome_msg", "/cgi-bin/externalcontact/remark",
	"/cgi-bin/webhook/send",
}

// FuzzAPI feeds arbitrary bodies to every JSON endpoint: each must answer
// HTTP 200 with a JSON object carrying a numeric errcode, and never panic.
func FuzzAPI(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		for i := range fuzzPaths {
			f.Add(uint8(i), b)
		}
	}
	f.Add(uint8(0), []byte(`{"cursor":"ZW11OjA","limit":1}`))
	f.Add(uint8(4), []byte(`{"open_kfid":"wkDEMO","external_userid":"wmCustomer01","service_state":3,"servicer_userid":"s"}`))
	f.Add(uint8(5), []byte(`{"external_userid_list":["wmCustomer01"],"need_enter_session_context":1}`))
	f.Add(uint8(9), []byte(`{"msgtype":"markdown","markdown":{"content":"# hi"}}`))
	f.Add(uint8(1), []byte(`{"touser":"wmCustomer01","open_kfid":"wkDEMO","msgtype":"msgmenu","msgmenu":{"list":[{"type":"click"}]}}`))
	f.Add(uint8(2), []byte("{\"code\":\"\xff\",\"msgtype\":\"text\",\"text\":{\"content\":\"]]>\"}}"))

	emu, err := emulator.New(emulator.Config{CorpID: corpID, Token: cbToken, EncodingAESKey: aesKey, KfSecret: kfSecret, AgentID: agentID})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = emu.Close() }) // Close never fails
	h := emu.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/cgi-bin/gettoken?corpid="+corpID+"&corpsecret="+kfSecret, nil))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		f.Fatalf("gettoken: %s", rec.Body)
	}
	if err := emu.CustomerSays(f.Context(), cust, "hi"); err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := fuzzPaths[int(which)%len(fuzzPaths)]
		q := url.Values{"access_token": {tok.AccessToken}, "key": {"k"}}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", path+"?"+q.Encode(), strings.NewReader(string(body))))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: HTTP %d", path, rec.Code)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s: answer is not JSON: %q", path, rec.Body)
		}
		if _, isNum := out["errcode"].(float64); !isNum {
			t.Fatalf("%s: no numeric errcode: %q", path, rec.Body)
		}
		if _, isStr := out["errmsg"].(string); !isStr {
			t.Fatalf("%s: no errmsg: %q", path, rec.Body)
		}
	})
}

package callback_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodeEncryptScript encrypts and signs each case with the independent npm
// package @wecom/crypto (WeCom's own JS implementation of WXBizMsgCrypt).
const nodeEncryptScript = `
const c = require('@wecom/crypto');
let input = '';
process.stdin.on('data', d => input += d);
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  const out = req.cases.map(x => {
    const enc = c.encrypt(req.key, x.msg, req.corp);
    return { encrypt: enc, signature: c.getSignature(req.token, x.ts, x.nonce, enc) };
  });
  process.stdout.write(JSON.stringify(out));
});
`

// TestIndependentNodeSDK: callbacks freshly encrypted by @wecom/crypto are
// accepted. WECOM_NODE_SDK_DIR is an npm prefix with the package installed
// (npm install --prefix DIR @wecom/crypto@1.0.1). Skipped when unset, unless
// REQUIRE_ENGINES=1.
func TestIndependentNodeSDK(t *testing.T) {
	dir := os.Getenv("WECOM_NODE_SDK_DIR")
	node, nodeErr := exec.LookPath("node")
	if dir == "" || nodeErr != nil {
		if os.Getenv("REQUIRE_ENGINES") == "1" {
			t.Fatalf("REQUIRE_ENGINES=1 but WECOM_NODE_SDK_DIR=%q / node: %v", dir, nodeErr)
		}
		t.Skip("set WECOM_NODE_SDK_DIR to an npm prefix with @wecom/crypto installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@wecom", "crypto")); err != nil {
		t.Fatalf("@wecom/crypto not installed under %s: %v", dir, err)
	}
	ch := loadVectors(t)["C-go-workwx-GET"].channel("default")
	type tcase struct {
		Msg   string `json:"msg"`
		TS    string `json:"ts"`
		Nonce string `json:"nonce"`
	}
	cases := []tcase{
		{"echo-94966531020182955848408", "1700000001", "n0"}, // GET verification
		{"<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1700000002</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好, 价格?]]></Content><MsgId>900000001</MsgId><AgentID>1000002</AgentID></xml>", "1700000002", "n1"},
		{"<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName><CreateTime>1700000003</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[ENCtoken]]></Token><OpenKfId><![CDATA[wk1]]></OpenKfId></xml>", "1700000003", "n2"},
		{"<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000004</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[sales01]]></UserID><ExternalUserID><![CDATA[wm1]]></ExternalUserID><WelcomeCode><![CDATA[WC]]></WelcomeCode></xml>", "1700000004", "n3"},
	}
	in, _ := json.Marshal(map[string]any{"key": ch.EncodingAESKey, "corp": ch.CorpID, "token": ch.Token, "cases": cases})
	cmd := exec.CommandContext(t.Context(), node, "-e", nodeEncryptScript)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got []struct{ Encrypt, Signature string }
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(cases) {
		t.Fatalf("node output %q: %v", out, err)
	}
	r := newRig(t, ch)
	t.Run("GET echostr", func(t *testing.T) {
		q := url.Values{"msg_signature": {got[0].Signature}, "timestamp": {cases[0].TS}, "nonce": {cases[0].Nonce}, "echostr": {got[0].Encrypt}}
		rec := do(t, r.h, "GET", "/wecom?"+q.Encode(), nil)
		if rec.Code != 200 || rec.Body.String() != cases[0].Msg {
			t.Fatalf("GET = %d %q", rec.Code, rec.Body.String())
		}
	})
	wantKinds := []string{"", "app_message", "kf", "contact"}
	for i := 1; i < len(cases); i++ {
		t.Run(wantKinds[i], func(t *testing.T) {
			body := postBody(ch.CorpID, got[i].Encrypt, "")
			rec := do(t, r.h, "POST", "/wecom?"+query(got[i].Signature, cases[i].TS, cases[i].Nonce), strings.NewReader(body))
			if rec.Code != 200 {
				t.Fatalf("POST = %d %q", rec.Code, rec.Body.String())
			}
			pub := r.pub.published()
			e := decodeEnvelope(t, pub[len(pub)-1])
			if e.Kind != wantKinds[i] {
				t.Errorf("Kind = %q, want %q", e.Kind, wantKinds[i])
			}
		})
	}
	if n := len(r.pub.published()); n != 3 {
		t.Errorf("published %d, want 3", n)
	}
}

package loadtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"wecom-crm-bot/infra/localstack"
	"wecom-crm-bot/shared/app"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/notes"
	"wecom-crm-bot/shared/wecom/wxcrypt"
)

// Benchmarks reported by `make bench` (docs/performance.md), next to the
// in-run baselines the table divides by.
//
//	go test -run '^$' -bench . -benchmem ./infra/loadtest/

// sealedBodies pre-computes n distinct sealed text-message callbacks.
func sealedBodies(b *testing.B, n, from int) (queries []string, bodies [][]byte) {
	c, err := wxcrypt.New(localstack.DemoToken, localstack.DemoAESKey, localstack.DemoCorpID)
	if err != nil {
		b.Fatal(err)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	for i := from; i < from+n; i++ {
		msg := "<xml><ToUserName><![CDATA[" + localstack.DemoCorpID + "]]></ToUserName><FromUserName><![CDATA[sales01]]></FromUserName>" +
			"<CreateTime>" + ts + "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content>" +
			"<MsgId>" + strconv.Itoa(7000000000+i) + "</MsgId><AgentID>" + localstack.DemoAgentID + "</AgentID></xml>"
		enc, err := c.Encrypt([]byte(msg))
		if err != nil {
			b.Fatal(err)
		}
		nonce := "n" + strconv.Itoa(i)
		queries = append(queries, url.Values{"msg_signature": {c.Signature(ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}}.Encode())
		bodies = append(bodies, []byte("<xml><ToUserName><![CDATA["+localstack.DemoCorpID+"]]></ToUserName><Encrypt><![CDATA["+enc+
			"]]></Encrypt><AgentID><![CDATA["+localstack.DemoAgentID+"]]></AgentID></xml>"))
	}
	return queries, bodies
}

// benchCallback posts distinct sealed callbacks through the real callback
// handler (as built by the composition root) over the given STORE: verify,
// decrypt, parse, claim the de-duplication key in the store, publish the
// envelope to the durable local queue (an outbox write in the same store),
// answer "success".
func benchCallback(b *testing.B, storeURL string) {
	dir := b.TempDir()
	env := map[string]string{"DATA_DIR": dir, "STORE": storeURL, "LOG_LEVEL": "error",
		"WECOM_CORP_ID": localstack.DemoCorpID, "WECOM_TOKEN": localstack.DemoToken, "WECOM_AES_KEY": localstack.DemoAESKey,
		"WECOM_AGENT_ID": localstack.DemoAgentID, "WECOM_API_BASE": "http://127.0.0.1:9"}
	if storeURL == "" {
		env["STORE"] = "bbolt://" + dir + "/state.db"
	}
	a, err := app.Load(b.Context(), func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	q, err := a.LocalQueue(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	h, err := a.Callback(b.Context(), q)
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 512
	var queries []string
	var bodies [][]byte
	var lat []time.Duration
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%chunk == 0 {
			b.StopTimer()
			queries, bodies = sealedBodies(b, chunk, i)
			b.StartTimer()
		}
		req := httptest.NewRequest(http.MethodPost, "/wecom/default?"+queries[i%chunk], bytes.NewReader(bodies[i%chunk]))
		rec := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(rec, req)
		lat = append(lat, time.Since(t0))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		i++
	}
	// The ack latency distribution (the target is p99 < 5 ms locally).
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkCallbackStoreBbolt is the callback end to end on bbolt (fsync
// per write transaction, as deployed locally).
func BenchmarkCallbackStoreBbolt(b *testing.B) { benchCallback(b, "") }

// BenchmarkCallbackStoreRedis is the same on a redis-server this package
// starts (append-only file, fsync always).
func BenchmarkCallbackStoreRedis(b *testing.B) {
	r, err := StartRedis(b.TempDir())
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { r.Close() })
	benchCallback(b, r.URL())
}

// benchConversation is a finished 20-turn conversation with a handoff
// and a satisfaction score.
func benchConversation() domain.Conversation {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	c := domain.Conversation{Key: "conv-bench", ExternalUserID: "wmBENCH", CustomerName: "张三", ContactID: "c001",
		StartedAt: start, LastActivity: start.Add(20 * time.Minute), Satisfaction: 4, EndReason: "session_ended",
		Handoff: &domain.Handoff{Reason: "requested", To: "sales01", At: start.Add(15 * time.Minute)}}
	for i := range 20 {
		role, text := domain.RoleCustomer, fmt.Sprintf("第%d个问题：订单 SO2026110%d 到哪了？", i, i)
		if i%2 == 1 {
			role, text = domain.RoleBot, "您的订单已发货，预计明天送达。物流单号 SF1234567890，可在顺丰官网查询。"
		}
		c.Turns = append(c.Turns, domain.Turn{At: start.Add(time.Duration(i) * time.Minute), Role: role, Text: text,
			MsgID: "m" + strconv.Itoa(i), Intent: "order_status", Confidence: 0.9, Answered: true})
	}
	return c
}

// BenchmarkNoteRender renders the CRM note of a 20-turn conversation.
func BenchmarkNoteRender(b *testing.B) {
	c := benchConversation()
	loc := time.FixedZone("CST", 8*3600)
	b.ReportAllocs()
	for b.Loop() {
		if n := notes.Render(c, loc); n.Body == "" {
			b.Fatal("empty note")
		}
	}
}

// BenchmarkNoteRenderBaselineJSON is the baseline for note rendering:
// encoding/json of the same conversation (what storing it costs anyway).
func BenchmarkNoteRenderBaselineJSON(b *testing.B) {
	c := benchConversation()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(c); err != nil {
			b.Fatal(err)
		}
	}
}

package infra_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/rpc"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
	scfevents "github.com/tencentyun/scf-go-lib/events"

	"wecom-crm-bot/shared/wecom/wxcrypt"
)

// Demo WeCom channel of the binary tests (not a real corp).
const (
	demoCorp  = "wwBINARYTEST0001"
	demoToken = "binarytesttoken"
	demoKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// buildFunctions builds every functions/* binary once, the way `make
// package` does for AWS (-tags lambda.norpc), into a temp dir.
func buildFunctions(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds every function binary")
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", dir+string(filepath.Separator), "./functions/...")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./functions/...: %v\n%s", err, out)
	}
	return dir
}

// functionEnv is the minimal working environment of every function.
func functionEnv(t *testing.T) []string {
	data := t.TempDir()
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + data,
		"WECOM_CORP_ID=" + demoCorp, "WECOM_TOKEN=" + demoToken, "WECOM_AES_KEY=" + demoKey,
		"WECOM_AGENT_ID=1000002", "WECOM_APP_SECRET=demo-app-secret", "WECOM_KF_SECRET=demo-kf-secret",
		"WECOM_API_BASE=http://127.0.0.1:9", // nothing listens: no invocation below calls WeCom
		"DATA_DIR=" + data, "STORE=bbolt://" + filepath.Join(data, "state.db"), "QUEUE=memory", "CRM=builtin",
		"ADMIN_TOKEN=binary-test-admin-token", "LOG_LEVEL=warn",
	}
}

// event is one invocation of a function and what a correct answer is.
type event struct {
	lambda, scf []byte
	check       func(t *testing.T, payload []byte)
	log         string // a line the function must have logged, if set
}

func httpStatus(want int, bodyContains string) func(t *testing.T, payload []byte) {
	return func(t *testing.T, payload []byte) {
		t.Helper()
		var r struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(payload, &r); err != nil || r.StatusCode != want || !strings.Contains(r.Body, bodyContains) {
			t.Fatalf("answer %s (err %v), want status %d with %q in the body", payload, err, want, bodyContains)
		}
	}
}

func httpEvents(method, path, rawQuery, body string, check func(*testing.T, []byte)) event {
	q, _ := url.ParseQuery(rawQuery)
	single := map[string]string{}
	for k := range q {
		single[k] = q.Get(k)
	}
	lambda, _ := json.Marshal(events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY " + path, RawPath: path, RawQueryString: rawQuery, QueryStringParameters: single,
		Headers: map[string]string{"host": "abc.execute-api.ap-east-1.amazonaws.com", "content-type": "text/xml"}, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "203.0.113.9"},
			RequestID: "req-1", Stage: "$default",
		},
	})
	scf, _ := json.Marshal(map[string]any{
		"httpMethod": method, "path": path, "queryString": single, "body": body,
		"headers":        map[string]string{"host": "service-x.ap-guangzhou.apigateway.myqcloud.com", "content-type": "text/xml"},
		"requestContext": map[string]string{"serviceId": "service-x", "path": path, "httpMethod": method, "requestId": "req-1", "sourceIp": "203.0.113.9", "stage": "release"},
	})
	return event{lambda: lambda, scf: scf, check: check}
}

func scheduleEvent() event {
	return event{
		lambda: []byte(`{"version":"0","id":"e-1","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-24T01:00:00Z","region":"ap-east-1","resources":["arn:aws:events:ap-east-1:123456789012:rule/pass"],"detail":{}}`),
		scf:    []byte(`{"Type":"Timer","TriggerName":"pass","Time":"2026-11-24T01:00:00Z","Message":""}`),
		check: func(t *testing.T, payload []byte) {
			if string(payload) != "null" {
				t.Fatalf("schedule answer %s, want null", payload)
			}
		},
	}
}

// functionEvents gives every function folder one invocation that exercises
// its handler; a folder without an entry fails the test.
func functionEvents(t *testing.T) map[string]event {
	c, err := wxcrypt.New(demoToken, demoKey, demoCorp)
	if err != nil {
		t.Fatal(err)
	}
	echo, err := c.Encrypt([]byte("echo-1700000000"))
	if err != nil {
		t.Fatal(err)
	}
	verify := url.Values{"msg_signature": {c.Signature("1700000000", "n1", echo)}, "timestamp": {"1700000000"}, "nonce": {"n1"}, "echostr": {echo}}
	envelope := `{"queueMessage":{"id":"bin-1","body":"bm90IGFuIGVudmVsb3Bl"}}`
	return map[string]event{
		// URL verification: verify, decrypt, answer the plain echostr.
		"callback": httpEvents("GET", "/wecom", verify.Encode(), "", httpStatus(200, "echo-1700000000")),
		// A record that is not a callback envelope can never succeed: the
		// worker logs and acknowledges it (no batch item failure on Lambda,
		// a successful invocation on SCF) instead of retrying it forever.
		"worker": {
			lambda: []byte(`{"Records":[{"messageId":"m-1","receiptHandle":"r","body":"not an envelope","attributes":{"ApproximateReceiveCount":"1"},"messageAttributes":{},"eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:ap-east-1:123456789012:work","awsRegion":"ap-east-1"}]}`),
			scf:    []byte(envelope),
			check: func(t *testing.T, payload []byte) {
				if p := string(payload); p != `{"batchItemFailures":[]}` && p != "null" {
					t.Fatalf("worker answer %s, want no batch item failure", payload)
				}
			},
			log: "undecodable envelope dropped",
		},
		"notesync":  scheduleEvent(),
		"reminders": scheduleEvent(),
		// Not signed in: the admin API refuses.
		"admin": httpEvents("GET", "/admin/api/summary", "", "", httpStatus(401, "")),
	}
}

// TestFunctionBinaries builds every function once and invokes each binary
// through the Lambda Runtime API and through the SCF runtime protocol.
func TestFunctionBinaries(t *testing.T) {
	bin := buildFunctions(t)
	evs := functionEvents(t)
	t.Run("lambda", func(t *testing.T) { answerOnLambda(t, bin, evs) })
	t.Run("scf", func(t *testing.T) { answerOnSCF(t, bin, evs) })
}

func answerOnLambda(t *testing.T, bin string, evs map[string]event) {
	for _, f := range functionDirs(repoRoot) {
		t.Run(f, func(t *testing.T) {
			ev, ok := evs[f]
			if !ok {
				t.Fatalf("functions/%s has no test invocation; add one to functionEvents", f)
			}
			api := newRuntimeAPI(t)
			res := api.enqueue(ev.lambda)
			out := start(t, filepath.Join(bin, f), append(functionEnv(t), "AWS_LAMBDA_RUNTIME_API="+api.addr(),
				"AWS_LAMBDA_FUNCTION_NAME="+f, "AWS_REGION=ap-east-1", "_HANDLER=bootstrap")...)
			r := api.wait(t, res)
			if !r.ok {
				t.Fatalf("invocation error: %s", r.body)
			}
			ev.check(t, r.body)
			waitLog(t, out, ev.log)
		})
	}
}

func answerOnSCF(t *testing.T, bin string, evs map[string]event) {
	for _, f := range functionDirs(repoRoot) {
		t.Run(f, func(t *testing.T) {
			ev, ok := evs[f]
			if !ok {
				t.Fatalf("functions/%s has no test invocation; add one to functionEvents", f)
			}
			port := freePort(t)
			out := start(t, filepath.Join(bin, f), append(functionEnv(t), "TENCENTCLOUD_RUNENV=SCF",
				"_LAMBDA_SERVER_PORT="+strconv.Itoa(port), "SCF_FUNCTIONNAME="+f, "SCF_NAMESPACE=default",
				"TENCENTCLOUD_REGION=ap-guangzhou")...)
			c := dialSCF(t, port)
			if err := c.Call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}); err != nil {
				t.Fatalf("Function.Ping: %v", err)
			}
			dl := time.Now().Add(20 * time.Second)
			req := &messages.InvokeRequest{
				Payload: ev.scf, RequestId: "scf-" + f, FunctionName: f, Namespace: "default",
				Deadline: messages.InvokeRequest_Timestamp{Seconds: dl.Unix(), Nanos: int64(dl.Nanosecond())},
			}
			var resp messages.InvokeResponse
			if err := c.Call("Function.Invoke", req, &resp); err != nil {
				t.Fatalf("Function.Invoke: %v", err)
			}
			if resp.Error != nil {
				t.Fatalf("invocation error: %+v", resp.Error)
			}
			if f == "callback" || f == "admin" {
				var out scfevents.APIGatewayResponse
				if err := json.Unmarshal(resp.Payload, &out); err != nil {
					t.Fatalf("payload %s: %v", resp.Payload, err)
				}
			}
			ev.check(t, resp.Payload)
			waitLog(t, out, ev.log)
		})
	}
}

// --- process, Lambda Runtime API fake, SCF dialing ----------------------

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitLog(t *testing.T, out *syncBuffer, line string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); line != "" && !strings.Contains(out.String(), line); {
		if time.Now().After(deadline) {
			t.Fatalf("no log line %q", line)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func start(t *testing.T, bin string, env ...string) *syncBuffer {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = env
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // may have exited already
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), out.String())
		}
	})
	return out
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func dialSCF(t *testing.T, port int) *rpc.Client {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := rpc.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			t.Cleanup(func() { _ = c.Close() })
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial scf function: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type result struct {
	ok   bool
	body []byte
}

// runtimeAPI serves the Lambda Runtime API routes aws-lambda-go uses.
type runtimeAPI struct {
	srv     *httptest.Server
	pending chan [2]string
	mu      sync.Mutex
	waiting map[string]chan result
	initErr chan []byte
	seq     int
}

func newRuntimeAPI(t *testing.T) *runtimeAPI {
	a := &runtimeAPI{pending: make(chan [2]string, 4), waiting: map[string]chan result{}, initErr: make(chan []byte, 1)}
	done := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case inv := <-a.pending:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv[0])
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(20*time.Second).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:ap-east-1:123456789012:function:f")
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c;Parent=1;Sampled=0")
			_, _ = io.WriteString(w, inv[1])
		case <-r.Context().Done():
		case <-done:
			w.WriteHeader(http.StatusGone)
		}
	})
	complete := func(ok bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			a.mu.Lock()
			ch := a.waiting[r.PathValue("id")]
			delete(a.waiting, r.PathValue("id"))
			a.mu.Unlock()
			if ch == nil {
				http.Error(w, "unknown request id", http.StatusBadRequest)
				return
			}
			b, _ := io.ReadAll(r.Body)
			ch <- result{ok: ok, body: b}
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", complete(true))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", complete(false))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case a.initErr <- b:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(func() { close(done); a.srv.Close() })
	return a
}

func (a *runtimeAPI) addr() string { return strings.TrimPrefix(a.srv.URL, "http://") }

func (a *runtimeAPI) enqueue(ev []byte) chan result {
	a.mu.Lock()
	a.seq++
	id := fmt.Sprintf("req-%d", a.seq)
	ch := make(chan result, 1)
	a.waiting[id] = ch
	a.mu.Unlock()
	a.pending <- [2]string{id, string(ev)}
	return ch
}

func (a *runtimeAPI) wait(t *testing.T, ch chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case b := <-a.initErr:
		t.Fatalf("init error: %s", b)
	case <-time.After(20 * time.Second):
		t.Fatal("no invocation result within 20 s")
	}
	return result{}
}

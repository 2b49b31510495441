package platform_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
	scfevents "github.com/tencentyun/scf-go-lib/events"
)

// The end-to-end tests build internal/testfn once and drive the binary the
// way each platform does.

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir) // best effort: a temp dir
	}
	os.Exit(code)
}

// testfn returns the path of the built test function binary.
func testfn(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a binary")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "platform-testfn-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "bootstrap")
		out, err := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", buildBin, "./internal/testfn").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// lockedBuffer collects a child's stderr safely.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the child has written substr (stderr is copied
// through a pipe, so it may lag behind the invocation result).
func (b *lockedBuffer) waitFor(t *testing.T, substr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.String(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("%s not seen in child output:\n%s", substr, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// run starts the binary with exactly env and kills it at cleanup.
func run(t *testing.T, env ...string) (*exec.Cmd, *lockedBuffer, time.Time) {
	t.Helper()
	cmd := exec.Command(testfn(t))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // may have exited already
		_ = cmd.Wait()         // reaps; the exit status of a killed process is expected
		if t.Failed() {
			t.Logf("testfn stderr:\n%s", stderr.String())
		}
	})
	return cmd, stderr, start
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// --- Lambda Runtime API fake -------------------------------------------

type lambdaResult struct {
	ok          bool
	body        []byte
	contentType string
}

type fakeRuntimeAPI struct {
	srv     *httptest.Server
	pending chan [2]string // id, event
	mu      sync.Mutex
	waiting map[string]chan lambdaResult
	initErr chan []byte
	seq     int
}

// newFakeRuntimeAPI serves the Lambda Runtime API routes the Go runtime
// library uses; the mux answers 404/405 to anything else.
func newFakeRuntimeAPI(t *testing.T) *fakeRuntimeAPI {
	t.Helper()
	f := &fakeRuntimeAPI{pending: make(chan [2]string, 16), waiting: map[string]chan lambdaResult{}, initErr: make(chan []byte, 1)}
	done := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case inv := <-f.pending:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv[0])
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:ap-east-1:123456789012:function:testfn")
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c;Parent=1;Sampled=0")
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, inv[1])
		case <-r.Context().Done():
		case <-done:
			w.WriteHeader(http.StatusGone)
		}
	})
	complete := func(ok bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			f.mu.Lock()
			ch, known := f.waiting[id]
			delete(f.waiting, id)
			f.mu.Unlock()
			if !known {
				http.Error(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
				return
			}
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "read", http.StatusBadRequest)
				return
			}
			ch <- lambdaResult{ok: ok, body: b, contentType: r.Header.Get("Content-Type")}
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", complete(true))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", complete(false))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case f.initErr <- b:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(done)
		f.srv.Close()
	})
	return f
}

func (f *fakeRuntimeAPI) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// enqueue hands an event to the next /next call and returns the channel its
// result arrives on.
func (f *fakeRuntimeAPI) enqueue(event []byte) chan lambdaResult {
	f.mu.Lock()
	f.seq++
	id := fmt.Sprintf("8476a536-e9f4-11e8-9739-2dfe598c3fc%d", f.seq)
	ch := make(chan lambdaResult, 1)
	f.waiting[id] = ch
	f.mu.Unlock()
	f.pending <- [2]string{id, string(event)}
	return ch
}

func (f *fakeRuntimeAPI) wait(t *testing.T, ch chan lambdaResult) lambdaResult {
	t.Helper()
	select {
	case res := <-ch:
		return res
	case b := <-f.initErr:
		t.Fatalf("init error: %s", b)
	case <-time.After(15 * time.Second):
		t.Fatal("no invocation result")
	}
	return lambdaResult{}
}

func TestE2ELambda(t *testing.T) {
	api := newFakeRuntimeAPI(t)
	first := api.enqueue(readTestdata(t, "lambda-apigw-v2-post.json"))
	_, stderr, start := run(t, "AWS_LAMBDA_RUNTIME_API="+api.addr(), "AWS_LAMBDA_FUNCTION_NAME=testfn",
		"AWS_REGION=ap-east-1", "_HANDLER=bootstrap", "LOG_LEVEL=info")

	t.Run("http v2", func(t *testing.T) {
		res := api.wait(t, first)
		t.Logf("cold start (exec → first HTTP response, lambda): %v", time.Since(start))
		if !res.ok {
			t.Fatalf("invocation failed: %s", res.body)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(res.body, &resp); err != nil {
			t.Fatalf("response %s: %v", res.body, err)
		}
		want := "POST /wecom/callback?msg_signature=abc&timestamp=1700000000&nonce=n1&echostr=a%2Bb" +
			" host=abc123.execute-api.ap-east-1.amazonaws.com cookie=sid=1; theme=dark body=<xml><Encrypt>enc</Encrypt></xml>"
		if resp.StatusCode != 200 || resp.Body != want || resp.IsBase64Encoded || resp.Headers["X-Echo-Method"] != "POST" {
			t.Fatalf("response %+v\nwant body %q", resp, want)
		}
	})
	t.Run("sqs batch with one failure", func(t *testing.T) {
		res := api.wait(t, api.enqueue(readTestdata(t, "lambda-sqs-batch.json")))
		if !res.ok {
			t.Fatalf("invocation failed: %s", res.body)
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(res.body, &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.BatchItemFailures) != 2 || resp.BatchItemFailures[0].ItemIdentifier != "m-3" ||
			resp.BatchItemFailures[1].ItemIdentifier != "m-6" {
			t.Fatalf("batchItemFailures %s", res.body)
		}
		for _, id := range []string{"wrapped-1", "dedupe-2", "fail-3", "m-4", "b64-5"} {
			stderr.waitFor(t, `"msg":"queue","id":"`+id+`"`)
		}
	})
	t.Run("schedule", func(t *testing.T) {
		res := api.wait(t, api.enqueue(readTestdata(t, "lambda-schedule.json")))
		if !res.ok || string(res.body) != "null" {
			t.Fatalf("result ok=%v %s", res.ok, res.body)
		}
		stderr.waitFor(t, `"msg":"schedule","name":"notesync-every-5min"`)
	})
	t.Run("failing envelope is an invocation error", func(t *testing.T) {
		res := api.wait(t, api.enqueue([]byte(`{"queueMessage":{"id":"fail-9","body":"eA=="}}`)))
		var e struct{ ErrorMessage, ErrorType string }
		if res.ok || json.Unmarshal(res.body, &e) != nil || !strings.Contains(e.ErrorMessage, "fail-9") {
			t.Fatalf("result ok=%v %s", res.ok, res.body)
		}
	})
	t.Run("unknown event is an invocation error, process survives", func(t *testing.T) {
		res := api.wait(t, api.enqueue(readTestdata(t, "unknown.json")))
		if res.ok || !bytes.Contains(res.body, []byte("unsupported lambda event")) {
			t.Fatalf("result ok=%v %s", res.ok, res.body)
		}
		res = api.wait(t, api.enqueue(readTestdata(t, "envelope.json")))
		if !res.ok {
			t.Fatalf("after error: %s", res.body)
		}
	})
}

// --- SCF runtime (net/rpc) ---------------------------------------------

func dialSCF(t *testing.T, port int) *rpc.Client {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := rpc.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			t.Cleanup(func() { _ = c.Close() }) // the process is killed anyway
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial scf function: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func invokeSCF(t *testing.T, c *rpc.Client, id string, payload []byte) messages.InvokeResponse {
	t.Helper()
	dl := time.Now().Add(30 * time.Second)
	req := &messages.InvokeRequest{
		Payload: payload, RequestId: id, Deadline: messages.InvokeRequest_Timestamp{Seconds: dl.Unix(), Nanos: int64(dl.Nanosecond())},
		FunctionName: "testfn", Namespace: "default", FunctionVersion: "$LATEST", MemoryLimitInMb: 128, TimeLimitInMs: 30000,
		Environment: `{"SCF_FUNCTIONNAME":"testfn"}`, TencentcloudRegion: "ap-guangzhou",
	}
	var resp messages.InvokeResponse
	if err := c.Call("Function.Invoke", req, &resp); err != nil {
		t.Fatalf("Function.Invoke: %v", err)
	}
	return resp
}

func TestE2ESCF(t *testing.T) {
	port := freePort(t)
	_, stderr, start := run(t, "TENCENTCLOUD_RUNENV=SCF", "_LAMBDA_SERVER_PORT="+strconv.Itoa(port),
		"SCF_FUNCTIONNAME=testfn", "SCF_NAMESPACE=default", "TENCENTCLOUD_REGION=ap-guangzhou")
	c := dialSCF(t, port)
	if err := c.Call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}); err != nil {
		t.Fatalf("Function.Ping: %v", err)
	}

	t.Run("api gateway", func(t *testing.T) {
		resp := invokeSCF(t, c, "r-1", readTestdata(t, "scf-apigw.json"))
		t.Logf("cold start (exec → first HTTP response, scf): %v", time.Since(start))
		if resp.Error != nil {
			t.Fatalf("error %+v", resp.Error)
		}
		var out scfevents.APIGatewayResponse
		if err := json.Unmarshal(resp.Payload, &out); err != nil {
			t.Fatalf("payload %s: %v", resp.Payload, err)
		}
		want := "POST /wecom/callback?a=b&a=c&i&x=y+z host=service-xxx-123456.ap-guangzhou.apigateway.myqcloud.com cookie= body=<xml><Encrypt>enc</Encrypt></xml>"
		if out.StatusCode != 200 || out.Body != want || out.Headers["X-Echo-Method"] != "POST" {
			t.Fatalf("response %+v\nwant body %q", out, want)
		}
	})
	t.Run("timer", func(t *testing.T) {
		resp := invokeSCF(t, c, "r-2", readTestdata(t, "scf-timer.json"))
		if resp.Error != nil || string(resp.Payload) != "null" {
			t.Fatalf("error %+v payload %s", resp.Error, resp.Payload)
		}
		stderr.waitFor(t, `"msg":"schedule","name":"reminders-daily"`)
	})
	t.Run("queue envelope", func(t *testing.T) {
		resp := invokeSCF(t, c, "r-3", readTestdata(t, "envelope.json"))
		if resp.Error != nil {
			t.Fatalf("error %+v", resp.Error)
		}
		stderr.waitFor(t, `"msg":"queue","id":"env-1","body_len":9`)
		resp = invokeSCF(t, c, "r-4", []byte(`{"queueMessage":{"id":"fail-7","body":""}}`))
		if resp.Error == nil || !strings.Contains(resp.Error.Message, "fail-7") {
			t.Fatalf("want invocation error, got %+v", resp)
		}
	})
}

// --- Local HTTP ---------------------------------------------------------

func TestE2ELocal(t *testing.T) {
	port := freePort(t)
	cmd, _, start := run(t, "PORT="+strconv.Itoa(port))
	url := fmt.Sprintf("http://127.0.0.1:%d/hello?x=1", port)
	var body []byte
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Post(url, "text/plain", strings.NewReader("hi"))
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d err %v", resp.StatusCode, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("local server never answered: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("cold start (exec → first HTTP response, local): %v", time.Since(start))
	want := fmt.Sprintf("POST /hello?x=1 host=127.0.0.1:%d cookie= body=hi", port)
	if string(body) != want {
		t.Fatalf("body %q, want %q", body, want)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no graceful exit on SIGTERM")
	}
}

// BenchmarkColdStartLocal measures exec → first successful HTTP response of
// the built function binary in local mode (ns/op is the cold start). Run
// with a small count, e.g. -bench ColdStart -benchtime=10x.
func BenchmarkColdStartLocal(b *testing.B) {
	bin := testfn(b)
	for b.Loop() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close() // freed for the child
		cmd := exec.Command(bin)
		cmd.Env = []string{"PORT=" + strconv.Itoa(port)}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		for {
			resp, err := http.Get(url)
			if err == nil {
				_ = resp.Body.Close() // drained enough for a benchmark
				break
			}
			time.Sleep(time.Millisecond)
		}
		_ = cmd.Process.Kill() // stop this cold instance
		_ = cmd.Wait()         // killed on purpose
	}
}

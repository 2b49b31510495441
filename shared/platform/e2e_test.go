package platform_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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

	"wecom-crm-bot/shared/platform/platformtest"
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

// run starts the binary with exactly env (plus PATH and HOME) and kills
// it at cleanup.
func run(t *testing.T, env ...string) *platformtest.Process {
	t.Helper()
	return platformtest.Start(t, testfn(t), append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)...)
}

// --- Lambda Runtime API fake -------------------------------------------

func TestE2ELambda(t *testing.T) {
	api := platformtest.NewRuntimeAPI(t, platformtest.RuntimeOptions{})
	first := api.Enqueue(readTestdata(t, "lambda-apigw-v2-post.json"))
	p := run(t, "AWS_LAMBDA_RUNTIME_API="+api.Addr(), "AWS_LAMBDA_FUNCTION_NAME=testfn",
		"AWS_REGION=ap-east-1", "_HANDLER=bootstrap", "LOG_LEVEL=info")

	t.Run("http v2", func(t *testing.T) {
		res := api.Wait(t, first, 15*time.Second)
		t.Logf("cold start (exec → first HTTP response, lambda): %v", time.Since(p.Started))
		if !res.OK {
			t.Fatalf("invocation failed: %s", res.Body)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(res.Body, &resp); err != nil {
			t.Fatalf("response %s: %v", res.Body, err)
		}
		want := "POST /wecom/callback?msg_signature=abc&timestamp=1700000000&nonce=n1&echostr=a%2Bb" +
			" host=abc123.execute-api.ap-east-1.amazonaws.com cookie=sid=1; theme=dark body=<xml><Encrypt>enc</Encrypt></xml>"
		if resp.StatusCode != 200 || resp.Body != want || resp.IsBase64Encoded || resp.Headers["X-Echo-Method"] != "POST" {
			t.Fatalf("response %+v\nwant body %q", resp, want)
		}
	})
	t.Run("sqs batch with one failure", func(t *testing.T) {
		res := api.Wait(t, api.Enqueue(readTestdata(t, "lambda-sqs-batch.json")), 15*time.Second)
		if !res.OK {
			t.Fatalf("invocation failed: %s", res.Body)
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(res.Body, &resp); err != nil {
			t.Fatal(err)
		}
		if len(resp.BatchItemFailures) != 2 || resp.BatchItemFailures[0].ItemIdentifier != "m-3" ||
			resp.BatchItemFailures[1].ItemIdentifier != "m-6" {
			t.Fatalf("batchItemFailures %s", res.Body)
		}
		for _, id := range []string{"wrapped-1", "dedupe-2", "fail-3", "m-4", "b64-5"} {
			p.WaitOutput(t, `"msg":"queue","id":"`+id+`"`, 5*time.Second)
		}
	})
	t.Run("schedule", func(t *testing.T) {
		res := api.Wait(t, api.Enqueue(readTestdata(t, "lambda-schedule.json")), 15*time.Second)
		if !res.OK || string(res.Body) != "null" {
			t.Fatalf("result ok=%v %s", res.OK, res.Body)
		}
		p.WaitOutput(t, `"msg":"schedule","name":"notesync-every-5min"`, 5*time.Second)
	})
	t.Run("failing envelope is an invocation error", func(t *testing.T) {
		res := api.Wait(t, api.Enqueue([]byte(`{"queueMessage":{"id":"fail-9","body":"eA=="}}`)), 15*time.Second)
		var e struct{ ErrorMessage, ErrorType string }
		if res.OK || json.Unmarshal(res.Body, &e) != nil || !strings.Contains(e.ErrorMessage, "fail-9") {
			t.Fatalf("result ok=%v %s", res.OK, res.Body)
		}
	})
	t.Run("unknown event is an invocation error, process survives", func(t *testing.T) {
		res := api.Wait(t, api.Enqueue(readTestdata(t, "unknown.json")), 15*time.Second)
		if res.OK || !bytes.Contains(res.Body, []byte("unsupported lambda event")) {
			t.Fatalf("result ok=%v %s", res.OK, res.Body)
		}
		res = api.Wait(t, api.Enqueue(readTestdata(t, "envelope.json")), 15*time.Second)
		if !res.OK {
			t.Fatalf("after error: %s", res.Body)
		}
	})
}

// --- SCF runtime (net/rpc) ---------------------------------------------

func invokeSCF(t *testing.T, c *platformtest.SCF, id string, payload []byte) messages.InvokeResponse {
	t.Helper()
	return c.Invoke(t, &messages.InvokeRequest{
		Payload: payload, RequestId: id, Deadline: platformtest.Deadline(30 * time.Second),
		FunctionName: "testfn", Namespace: "default", FunctionVersion: "$LATEST", MemoryLimitInMb: 128, TimeLimitInMs: 30000,
		Environment: `{"SCF_FUNCTIONNAME":"testfn"}`, TencentcloudRegion: "ap-guangzhou",
	})
}

func TestE2ESCF(t *testing.T) {
	port := platformtest.FreePort(t)
	p := run(t, "TENCENTCLOUD_RUNENV=SCF", "_LAMBDA_SERVER_PORT="+strconv.Itoa(port),
		"SCF_FUNCTIONNAME=testfn", "SCF_NAMESPACE=default", "TENCENTCLOUD_REGION=ap-guangzhou")
	c := platformtest.DialSCF(t, port, 15*time.Second)
	c.Ping(t)

	t.Run("api gateway", func(t *testing.T) {
		resp := invokeSCF(t, c, "r-1", readTestdata(t, "scf-apigw.json"))
		t.Logf("cold start (exec → first HTTP response, scf): %v", time.Since(p.Started))
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
		p.WaitOutput(t, `"msg":"schedule","name":"reminders-daily"`, 5*time.Second)
	})
	t.Run("queue envelope", func(t *testing.T) {
		resp := invokeSCF(t, c, "r-3", readTestdata(t, "envelope.json"))
		if resp.Error != nil {
			t.Fatalf("error %+v", resp.Error)
		}
		p.WaitOutput(t, `"msg":"queue","id":"env-1","body_len":9`, 5*time.Second)
		resp = invokeSCF(t, c, "r-4", []byte(`{"queueMessage":{"id":"fail-7","body":""}}`))
		if resp.Error == nil || !strings.Contains(resp.Error.Message, "fail-7") {
			t.Fatalf("want invocation error, got %+v", resp)
		}
	})
}

// --- Local HTTP ---------------------------------------------------------

func TestE2ELocal(t *testing.T) {
	port := platformtest.FreePort(t)
	p := run(t, "PORT="+strconv.Itoa(port))
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
	t.Logf("cold start (exec → first HTTP response, local): %v", time.Since(p.Started))
	want := fmt.Sprintf("POST /hello?x=1 host=127.0.0.1:%d cookie= body=hi", port)
	if string(body) != want {
		t.Fatalf("body %q, want %q", body, want)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.Cmd.Wait() }()
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

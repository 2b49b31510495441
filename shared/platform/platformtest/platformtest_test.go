package platformtest_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/rpc"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"wecom-crm-bot/shared/platform/platformtest"
)

// runtimeClient plays the Lambda runtime's side of the protocol.
func runtimeClient(t *testing.T, api *platformtest.RuntimeAPI, method, path, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+api.Addr()+"/2018-06-01/runtime/"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestRuntimeAPI(t *testing.T) {
	api := platformtest.NewRuntimeAPI(t, platformtest.RuntimeOptions{FunctionName: "fn", Deadline: time.Minute})
	results := []<-chan platformtest.Result{api.Enqueue([]byte(`{"n":1}`)), api.Enqueue([]byte(`{"n":2}`))}
	tests := []struct {
		event, post, body string
		want              platformtest.Result
	}{
		{`{"n":1}`, "response", `{"ok":1}`, platformtest.Result{OK: true, Body: []byte(`{"ok":1}`)}},
		{`{"n":2}`, "error", `{"errorMessage":"x"}`, platformtest.Result{OK: false, Body: []byte(`{"errorMessage":"x"}`)}},
	}
	for i, tc := range tests {
		res, event := runtimeClient(t, api, "GET", "invocation/next", "")
		id := res.Header.Get("Lambda-Runtime-Aws-Request-Id")
		dl := res.Header.Get("Lambda-Runtime-Deadline-Ms")
		if event != tc.event || id == "" || dl == "" ||
			res.Header.Get("Lambda-Runtime-Invoked-Function-Arn") != "arn:aws:lambda:ap-east-1:123456789012:function:fn" {
			t.Fatalf("next %d: %q headers %v", i, event, res.Header)
		}
		if res, _ := runtimeClient(t, api, "POST", "invocation/"+id+"/"+tc.post, tc.body); res.StatusCode != http.StatusAccepted {
			t.Fatalf("post %s: %d", tc.post, res.StatusCode)
		}
		got := api.Wait(t, results[i], time.Second)
		if got.OK != tc.want.OK || string(got.Body) != string(tc.want.Body) {
			t.Errorf("result %d = %+v, want %+v", i, got, tc.want)
		}
		if res, _ := runtimeClient(t, api, "POST", "invocation/"+id+"/response", "{}"); res.StatusCode != http.StatusBadRequest {
			t.Errorf("second completion of %s: %d, want 400", id, res.StatusCode)
		}
	}

	if _, err := api.Await(api.Enqueue([]byte(`{}`)), 20*time.Millisecond); !errors.Is(err, platformtest.ErrNoResult) {
		t.Errorf("no completion: %v, want ErrNoResult", err)
	}
	runtimeClient(t, api, "POST", "init/error", `{"errorMessage":"boom"}`)
	if _, err := api.Await(api.Enqueue([]byte(`{}`)), time.Second); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("init error: %v", err)
	}
}

// Function is a net/rpc stand-in for a function's SCF runtime.
type Function struct{}

func (Function) Ping(req *messages.PingRequest, resp *messages.PingResponse) error { return nil }

func (Function) Invoke(req *messages.InvokeRequest, resp *messages.InvokeResponse) error {
	resp.Payload = append([]byte(req.RequestId+":"), req.Payload...)
	return nil
}

func TestSCF(t *testing.T) {
	srv := rpc.NewServer()
	if err := srv.Register(Function{}); err != nil {
		t.Fatal(err)
	}
	port := platformtest.FreePort(t)
	listening := make(chan error, 1)
	go func() { // listens late: DialSCF retries
		time.Sleep(50 * time.Millisecond)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			t.Cleanup(func() { _ = ln.Close() }) // Accept returns
			go srv.Accept(ln)
		}
		listening <- err
	}()
	c := platformtest.DialSCF(t, port, 5*time.Second)
	if err := <-listening; err != nil {
		t.Fatal(err)
	}
	c.Ping(t)
	resp := c.Invoke(t, &messages.InvokeRequest{RequestId: "r-1", Payload: []byte(`{}`), Deadline: platformtest.Deadline(time.Second)})
	if string(resp.Payload) != `r-1:{}` || resp.Error != nil {
		t.Errorf("invoke = %s %+v", resp.Payload, resp.Error)
	}
}

func TestStart(t *testing.T) {
	env, err := exec.LookPath("env")
	if err != nil {
		t.Skip("no env command")
	}
	p := platformtest.Start(t, env, "GREETING=hello-from-platformtest")
	p.WaitOutput(t, "GREETING=hello-from-platformtest\n", 5*time.Second)
	if err := p.Cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := p.Output(); got != "GREETING=hello-from-platformtest\n" {
		t.Errorf("output %q: the environment is not exactly the one given", got)
	}
}

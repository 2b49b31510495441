package infra_test

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
	scfevents "github.com/tencentyun/scf-go-lib/events"

	"wecom-crm-bot/shared/platform/platformtest"
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
			api := platformtest.NewRuntimeAPI(t, platformtest.RuntimeOptions{FunctionName: f, Deadline: 20 * time.Second})
			res := api.Enqueue(ev.lambda)
			p := platformtest.Start(t, filepath.Join(bin, f), append(functionEnv(t), "AWS_LAMBDA_RUNTIME_API="+api.Addr(),
				"AWS_LAMBDA_FUNCTION_NAME="+f, "AWS_REGION=ap-east-1", "_HANDLER=bootstrap")...)
			r := api.Wait(t, res, 20*time.Second)
			if !r.OK {
				t.Fatalf("invocation error: %s", r.Body)
			}
			ev.check(t, r.Body)
			waitLog(t, p, ev.log)
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
			port := platformtest.FreePort(t)
			p := platformtest.Start(t, filepath.Join(bin, f), append(functionEnv(t), "TENCENTCLOUD_RUNENV=SCF",
				"_LAMBDA_SERVER_PORT="+strconv.Itoa(port), "SCF_FUNCTIONNAME="+f, "SCF_NAMESPACE=default",
				"TENCENTCLOUD_REGION=ap-guangzhou")...)
			c := platformtest.DialSCF(t, port, 20*time.Second)
			c.Ping(t)
			resp := c.Invoke(t, &messages.InvokeRequest{
				Payload: ev.scf, RequestId: "scf-" + f, FunctionName: f, Namespace: "default",
				Deadline: platformtest.Deadline(20 * time.Second),
			})
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
			waitLog(t, p, ev.log)
		})
	}
}

// waitLog waits until the function has logged line, if line is set.
func waitLog(t *testing.T, p *platformtest.Process, line string) {
	t.Helper()
	if line != "" {
		p.WaitOutput(t, line, 5*time.Second)
	}
}

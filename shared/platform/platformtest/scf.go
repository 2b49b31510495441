package platformtest

import (
	"net/rpc"
	"strconv"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
)

// SCF is a connection to a function speaking the SCF Go runtime protocol.
type SCF struct {
	c *rpc.Client
}

// DialSCF connects to the function on 127.0.0.1:port, retrying until it
// listens or timeout passes (then it fails the test). The connection is
// closed at cleanup.
func DialSCF(t testing.TB, port int, timeout time.Duration) *SCF {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := rpc.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			t.Cleanup(func() { _ = c.Close() }) // the process is killed anyway
			return &SCF{c: c}
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial scf function: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Ping calls Function.Ping and fails the test when it errs.
func (s *SCF) Ping(t testing.TB) {
	t.Helper()
	if err := s.c.Call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}); err != nil {
		t.Fatalf("Function.Ping: %v", err)
	}
}

// Invoke calls Function.Invoke and fails the test when the call itself
// errs; a failed invocation comes back in the response's Error.
func (s *SCF) Invoke(t testing.TB, req *messages.InvokeRequest) messages.InvokeResponse {
	t.Helper()
	var resp messages.InvokeResponse
	if err := s.c.Call("Function.Invoke", req, &resp); err != nil {
		t.Fatalf("Function.Invoke: %v", err)
	}
	return resp
}

// Deadline is d from now as an invocation deadline.
func Deadline(d time.Duration) messages.InvokeRequest_Timestamp {
	dl := time.Now().Add(d)
	return messages.InvokeRequest_Timestamp{Seconds: dl.Unix(), Nanos: int64(dl.Nanosecond())}
}

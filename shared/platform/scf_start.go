package platform

import (
	"bufio"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"wecom-crm-bot/shared/domain"
)

// startSCF serves the SCF Go runtime's invocations: net/rpc over gob on
// 0.0.0.0:$_LAMBDA_SERVER_PORT, service "Function" with Ping and Invoke, as
// scf-go-lib's cloudfunction.Start does, with the same messages and
// function context. It speaks that wire protocol directly instead of
// calling cloudfunction.Start, because rpc.Register finds methods by
// reflection, which makes the linker keep every exported method of every
// type: the binaries would be megabytes larger. The protocol is pinned by
// the end-to-end test that drives a built binary with net/rpc's own client.
func startSCF(ctx context.Context, h Handlers, o *options) error {
	port := o.getenv("_LAMBDA_SERVER_PORT")
	if port == "" {
		return fmt.Errorf("platform: SCF event function needs _LAMBDA_SERVER_PORT (for an SCF web function set %s=local): %w",
			EnvPlatform, domain.ErrConfig)
	}
	ln, err := net.Listen("tcp", "0.0.0.0:"+port)
	if err != nil {
		return fmt.Errorf("platform: SCF listen on %s: %w", port, err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	handler := NewSCFHandler(h, WithLogger(o.logger))
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("platform: SCF accept: %w", err)
		}
		go serveSCFConn(conn, handler, o)
	}
}

// scfConn is one runtime connection: requests are decoded in order and
// answered concurrently, replies written whole under a lock (as net/rpc's
// server does).
type scfConn struct {
	dec *gob.Decoder
	enc *gob.Encoder
	buf *bufio.Writer
	c   io.Closer
	mu  sync.Mutex
}

func serveSCFConn(conn net.Conn, handler func(context.Context, json.RawMessage) (any, error), o *options) {
	buf := bufio.NewWriter(conn)
	sc := &scfConn{dec: gob.NewDecoder(conn), enc: gob.NewEncoder(buf), buf: buf, c: conn}
	defer conn.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		var req rpc.Request
		if err := sc.dec.Decode(&req); err != nil {
			if !errors.Is(err, io.EOF) {
				o.logger.Debug("platform: SCF connection closed", "err", err)
			}
			return
		}
		switch req.ServiceMethod {
		case "Function.Ping":
			var args messages.PingRequest
			if err := sc.dec.Decode(&args); err != nil {
				return
			}
			sc.reply(req, "", &messages.PingResponse{})
		case "Function.Invoke":
			var args messages.InvokeRequest
			if err := sc.dec.Decode(&args); err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc.reply(req, "", invokeSCF(&args, handler))
			}()
		default:
			if err := sc.dec.DecodeValue(reflect.Value{}); err != nil { // discard the body
				return
			}
			sc.reply(req, "rpc: can't find service "+req.ServiceMethod, struct{}{})
		}
	}
}

func (sc *scfConn) reply(req rpc.Request, errMsg string, body any) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	resp := rpc.Response{ServiceMethod: req.ServiceMethod, Seq: req.Seq, Error: errMsg}
	if err := sc.enc.Encode(&resp); err != nil {
		sc.c.Close()
		return
	}
	if err := sc.enc.Encode(body); err != nil {
		sc.c.Close()
		return
	}
	if err := sc.buf.Flush(); err != nil {
		sc.c.Close()
	}
}

// invokeSCF runs one invocation like cloudfunction.Function.Invoke: the
// deadline becomes the context's, the function context is attached, the
// request's environment is applied, and errors and panics are reported in
// the response rather than as RPC errors.
func invokeSCF(req *messages.InvokeRequest, handler func(context.Context, json.RawMessage) (any, error)) (resp *messages.InvokeResponse) {
	resp = &messages.InvokeResponse{}
	defer func() {
		if r := recover(); r != nil {
			resp.Error = &messages.InvokeResponse_Error{
				Message: fmt.Sprint(r), Type: "panic", ShouldExit: true,
				StackTrace: []*messages.InvokeResponse_Error_StackFrame{{Label: string(debug.Stack())}},
			}
		}
	}()
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(req.Deadline.Seconds, req.Deadline.Nanos).UTC())
	defer cancel()
	lc := &functioncontext.FunctionContext{
		RequestID: req.RequestId, InvokedFunctionUnique: req.InvokedFunctionUnique, Namespace: req.Namespace,
		FunctionName: req.FunctionName, FunctionVersion: req.FunctionVersion, MemoryLimitInMb: req.MemoryLimitInMb,
		TimeLimitInMs: req.TimeLimitInMs, TencentcloudRegion: req.TencentcloudRegion,
		TencentcloudAppID: req.TencentcloudAppID, TencentcloudUin: req.TencentcloudUin, FunctionTrace: req.FunctionTrace,
	}
	if len(req.ClientContext) > 0 {
		if err := json.Unmarshal(req.ClientContext, &lc.ClientContext); err != nil {
			resp.Error = scfError(err)
			return resp
		}
	}
	if len(req.Environment) > 0 {
		if err := json.Unmarshal([]byte(req.Environment), &lc.Environment); err != nil {
			resp.Error = scfError(err)
			return resp
		}
		for k, v := range lc.Environment {
			os.Setenv(k, v)
		}
	}
	out, err := handler(functioncontext.NewContext(ctx, lc), req.Payload)
	if err == nil {
		resp.Payload, err = json.Marshal(out)
	}
	if err != nil {
		resp.Error = scfError(err)
	}
	return resp
}

func scfError(err error) *messages.InvokeResponse_Error {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return &messages.InvokeResponse_Error{Message: err.Error(), Type: t.Name()}
}

package sqsq

import (
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/queue"
)

// wire returns what SQS would hand a receiver for msg: the body string and
// the String attributes.
func wire(t *testing.T, p *Publisher, msg queue.Message) (string, map[string]string, error) {
	t.Helper()
	in, err := p.input(msg)
	if err != nil {
		return "", nil, err
	}
	attrs := make(map[string]string, len(in.MessageAttributes))
	for k, v := range in.MessageAttributes {
		if *v.DataType != "String" {
			t.Fatalf("attribute %s has data type %s, want String", k, *v.DataType)
		}
		attrs[k] = *v.StringValue
	}
	if *in.MessageBody == "" || !sqsText(*in.MessageBody) {
		t.Fatalf("body %q is not acceptable to SQS", *in.MessageBody)
	}
	return *in.MessageBody, attrs, nil
}

func TestWireFormat(t *testing.T) {
	std := NewPublisher(nil, "https://sqs.us-east-1.amazonaws.com/1/q")
	tests := []struct {
		name     string
		msg      queue.Message
		wantBody string
		wantEnc  string
	}{
		{"Text", queue.Message{ID: "m1", Body: []byte(`{"a":"你好"}`)}, `{"a":"你好"}`, ""},
		{"TabsAndNewlines", queue.Message{ID: "m2", Body: []byte("a\tb\r\nc")}, "a\tb\r\nc", ""},
		{"InvalidUTF8", queue.Message{ID: "m3", Body: []byte{0xff, 0xfe}}, "//4=", "base64"},
		{"ControlChar", queue.Message{ID: "m4", Body: []byte("a\x00b")}, "YQBi", "base64"},
		{"NonCharacter", queue.Message{ID: "m5", Body: []byte("\uFFFF")}, "77+/", "base64"},
		{"Empty", queue.Message{ID: "m6"}, "-", "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, attrs, err := wire(t, std, tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if body != tc.wantBody || attrs[AttrBodyEncoding] != tc.wantEnc || attrs[AttrDedupeID] != tc.msg.ID {
				t.Fatalf("body %q attrs %v, want body %q encoding %q dedupe_id %q", body, attrs, tc.wantBody, tc.wantEnc, tc.msg.ID)
			}
		})
	}
}

func TestFIFOFields(t *testing.T) {
	p := NewPublisher(nil, "https://sqs.us-east-1.amazonaws.com/1/q.fifo")
	long := strings.Repeat("x", 129)
	tests := []struct {
		name                string
		msg                 queue.Message
		wantDedupe, wantGrp string
	}{
		{"IDIsGroup", queue.Message{ID: "wx-1", Body: []byte("b")}, "wx-1", "wx-1"},
		{"GroupAttribute", queue.Message{ID: "wx-2", Body: []byte("b"), Attributes: map[string]string{AttrGroupID: "kf-7"}}, "wx-2", "kf-7"},
		{"LongIDHashed", queue.Message{ID: long, Body: []byte("b")}, fifoID(long), fifoID(long)},
		{"SpaceHashed", queue.Message{ID: "a b", Body: []byte("b")}, fifoID("a b"), fifoID("a b")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := p.input(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if *in.MessageDeduplicationId != tc.wantDedupe || *in.MessageGroupId != tc.wantGrp {
				t.Fatalf("dedupe %q group %q, want %q %q", *in.MessageDeduplicationId, *in.MessageGroupId, tc.wantDedupe, tc.wantGrp)
			}
			if len(*in.MessageDeduplicationId) > 128 {
				t.Fatalf("dedupe id of %d characters", len(*in.MessageDeduplicationId))
			}
		})
	}
	if _, err := p.input(queue.Message{Body: []byte("b")}); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("FIFO message without ID: %v, want ErrInvalid", err)
	}
}

func TestPublishRejects(t *testing.T) {
	p := NewPublisher(nil, "https://sqs.us-east-1.amazonaws.com/1/q")
	many := map[string]string{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} {
		many[k] = "v"
	}
	tests := []struct {
		name  string
		attrs map[string]string
	}{
		{"ReservedDedupe", map[string]string{AttrDedupeID: "x"}},
		{"ReservedEncoding", map[string]string{AttrBodyEncoding: "x"}},
		{"AWSPrefix", map[string]string{"AWS.trace": "x"}},
		{"BadChars", map[string]string{"a b": "x"}},
		{"DoubleDot", map[string]string{"a..b": "x"}},
		{"TooMany", many},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := p.input(queue.Message{ID: "m", Body: []byte("b"), Attributes: tc.attrs}); !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
	// Eight attributes fit next to dedupe_id and body_encoding.
	delete(many, "i")
	if _, err := p.input(queue.Message{ID: "m", Body: []byte{0}, Attributes: many}); err != nil {
		t.Fatalf("8 attributes: %v", err)
	}
}

func TestMessageFromRecordErrors(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		attrs map[string]string
	}{
		{"BadBase64", "%%%", map[string]string{AttrBodyEncoding: "base64"}},
		{"UnknownEncoding", "x", map[string]string{AttrBodyEncoding: "gzip"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := MessageFromRecord(tc.body, tc.attrs); !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

// FuzzRoundTrip checks that every message Publish accepts comes back
// unchanged through MessageFromRecord (empty attribute values are dropped by
// design, so the fuzzer's attribute is non-empty).
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte(`{"msgid":"1"}`), "id-1", "correlation_id", "c-1")
	f.Add([]byte{0, 1, 2, 0xff}, "id-2", "k", "v")
	f.Add([]byte(""), "", "group_id", "g")
	f.Add([]byte("\uFFFE\U0010FFFF"), "多字节", "x.y", "值")
	p := NewPublisher(nil, "https://sqs.us-east-1.amazonaws.com/1/q")
	f.Fuzz(func(t *testing.T, body []byte, id, k, v string) {
		msg := queue.Message{ID: id, Body: body}
		if v != "" {
			msg.Attributes = map[string]string{k: v}
		}
		wbody, attrs, err := wire(t, p, msg)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("input: %v, want nil or ErrInvalid", err)
			}
			return
		}
		got, err := MessageFromRecord(wbody, attrs)
		if err != nil {
			t.Fatalf("MessageFromRecord: %v", err)
		}
		if got.ID != msg.ID || !bytes.Equal(got.Body, msg.Body) || !maps.Equal(got.Attributes, msg.Attributes) {
			t.Fatalf("round trip: got %+v, want %+v", got, msg)
		}
	})
}

// FuzzMessageFromRecord feeds arbitrary records (as a Lambda trigger might
// deliver from any producer): no panic, reserved attributes never leak into
// Attributes, and only ErrInvalid comes back.
func FuzzMessageFromRecord(f *testing.F) {
	f.Add("hello", "", "id", "k", "v")
	f.Add("//4=", "base64", "id", "correlation_id", "c")
	f.Add("-", "empty", "", "k", "")
	f.Add("not base64!", "base64", "x", "", "")
	f.Fuzz(func(t *testing.T, body, enc, id, k, v string) {
		attrs := map[string]string{k: v}
		if enc != "" {
			attrs[AttrBodyEncoding] = enc
		}
		if id != "" {
			attrs[AttrDedupeID] = id
		}
		msg, err := MessageFromRecord(body, attrs)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid", err)
			}
			return
		}
		if msg.ID != attrs[AttrDedupeID] {
			t.Fatalf("ID %q, want %q", msg.ID, attrs[AttrDedupeID])
		}
		if _, ok := msg.Attributes[AttrDedupeID]; ok {
			t.Fatal("dedupe_id leaked into Attributes")
		}
		if _, ok := msg.Attributes[AttrBodyEncoding]; ok {
			t.Fatal("body_encoding leaked into Attributes")
		}
	})
}

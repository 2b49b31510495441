package wecom

import (
	"os"
	"testing"
)

// FuzzDecodeSyncMsg feeds arbitrary bytes to the sync_msg response decoder:
// it must never panic, and anything that is not a JSON object is an error.
func FuzzDecodeSyncMsg(f *testing.F) {
	fixture, err := os.ReadFile("testdata/sync_msg.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{
		fixture,
		[]byte(`{"errcode":0,"errmsg":"ok","next_cursor":"","has_more":0,"msg_list":[]}`),
		[]byte(`{"errcode":-1,"errmsg":"system busy"}`),
		[]byte(`{"msg_list":[{"msgtype":"event","event":null,"text":{"content":1}}]}`),
		[]byte(`{"has_more":"1"}`),
		[]byte(`null`), []byte(`[]`), []byte(``), []byte(`<xml/>`), []byte("\xff\xfe"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r SyncMsgResponse
		err := decodeResponse("/cgi-bin/kf/sync_msg", data, &r)
		if err == nil {
			i := 0
			for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
				i++
			}
			if i == len(data) || data[i] != '{' {
				t.Fatalf("accepted non-object %q", data)
			}
		}
	})
}

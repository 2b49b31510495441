package event_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"wecom-crm-bot/shared/wecom/event"
)

func addFixtureSeeds(f *testing.F) {
	f.Helper()
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "<", "<xml", "<xml/>", "<xml><MsgType>text</MsgType></xml>",
		"<xml><MsgType>t&amp;&#x41;&#65;&bogus;</MsgType></xml>",
		"<xml><MsgType><![CDATA[a]]]]><![CDATA[>b]]></MsgType></xml>",
		"<!DOCTYPE x [<!ENTITY e 'v'>]><xml><MsgType a='>' b=\"<\">x</MsgType></xml>",
		"<xml><A><B><MsgType>x</MsgType></B></A><MsgType/></xml>",
		"<xml><MsgType>\r\n\r</MsgType><CreateTime>-5</CreateTime></xml>",
		"<a:xml><a:b:MsgType>x</a:b:MsgType><:MsgType>y</:MsgType></a:xml>",
	} {
		f.Add([]byte(s))
	}
}

// FuzzParse checks that Parse never panics and, on every input that
// encoding/xml accepts, extracts exactly the same fields.
func FuzzParse(f *testing.F) {
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := event.Parse(b)
		if err != nil {
			if !errors.Is(err, event.ErrSyntax) && !errors.Is(err, event.ErrNoRoot) && !errors.Is(err, event.ErrNoMsgType) {
				t.Fatalf("unexpected error kind: %v", err)
			}
		} else {
			_ = got.Kind()
			if got.DedupeKey() == "" {
				t.Fatal("empty dedupe key")
			}
		}
		ref, refErr := stdParse(b)
		if refErr != nil || ref.MsgType == "" {
			return // only well-formed documents with a MsgType are compared
		}
		if err != nil {
			t.Fatalf("encoding/xml accepts %q (%+v) but Parse fails: %v", b, ref, err)
		}
		if got != ref {
			t.Fatalf("input %q\nParse        %+v\nencoding/xml %+v", b, got, ref)
		}
	})
}

// FuzzParseEncrypted checks ParseEncrypted never panics and agrees with
// Parse's scanner on the Encrypt element.
func FuzzParseEncrypted(f *testing.F) {
	addFixtureSeeds(f)
	f.Add([]byte("<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[abc]]></Encrypt></xml>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := event.ParseEncrypted(b)
		if err == nil && e.Encrypt == "" {
			t.Fatal("nil error with empty Encrypt")
		}
	})
}

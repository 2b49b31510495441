package event_test

import (
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom/event"
)

// stdMessage is the encoding/xml reference decoder for event.Message.
type stdMessage struct {
	XMLName        xml.Name `xml:"xml"`
	ToUserName     string   `xml:"ToUserName"`
	FromUserName   string   `xml:"FromUserName"`
	CreateTime     int64    `xml:"CreateTime"`
	MsgType        string   `xml:"MsgType"`
	Event          string   `xml:"Event"`
	ChangeType     string   `xml:"ChangeType"`
	MsgID          string   `xml:"MsgId"`
	AgentID        string   `xml:"AgentID"`
	Content        string   `xml:"Content"`
	PicURL         string   `xml:"PicUrl"`
	MediaID        string   `xml:"MediaId"`
	Format         string   `xml:"Format"`
	ThumbMediaID   string   `xml:"ThumbMediaId"`
	LocationX      string   `xml:"Location_X"`
	LocationY      string   `xml:"Location_Y"`
	Scale          string   `xml:"Scale"`
	Label          string   `xml:"Label"`
	Title          string   `xml:"Title"`
	Description    string   `xml:"Description"`
	URL            string   `xml:"Url"`
	EventKey       string   `xml:"EventKey"`
	Latitude       string   `xml:"Latitude"`
	Longitude      string   `xml:"Longitude"`
	Precision      string   `xml:"Precision"`
	Token          string   `xml:"Token"`
	OpenKfID       string   `xml:"OpenKfId"`
	UserID         string   `xml:"UserID"`
	ExternalUserID string   `xml:"ExternalUserID"`
	State          string   `xml:"State"`
	WelcomeCode    string   `xml:"WelcomeCode"`
	Source         string   `xml:"Source"`
	FailReason     string   `xml:"FailReason"`
}

// stdParse decodes b with encoding/xml into an event.Message.
func stdParse(b []byte) (event.Message, error) {
	var s stdMessage
	if err := xml.Unmarshal(b, &s); err != nil {
		return event.Message{}, err
	}
	m := event.Message{
		ToUserName: s.ToUserName, FromUserName: s.FromUserName, CreateTime: s.CreateTime,
		MsgType: s.MsgType, Event: s.Event, ChangeType: s.ChangeType, MsgID: s.MsgID, AgentID: s.AgentID,
		Content: s.Content, PicURL: s.PicURL, MediaID: s.MediaID, Format: s.Format, ThumbMediaID: s.ThumbMediaID,
		LocationX: s.LocationX, LocationY: s.LocationY, Scale: s.Scale, Label: s.Label, Title: s.Title,
		Description: s.Description, URL: s.URL, EventKey: s.EventKey,
		Latitude: s.Latitude, Longitude: s.Longitude, Precision: s.Precision,
		Token: s.Token, OpenKfID: s.OpenKfID, UserID: s.UserID, ExternalUserID: s.ExternalUserID,
		State: s.State, WelcomeCode: s.WelcomeCode, Source: s.Source, FailReason: s.FailReason,
	}
	return m, nil
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestFixtures(t *testing.T) {
	const corp = "ww6a112864f8022910"
	contact := func(ct string) event.Message {
		return event.Message{ToUserName: corp, FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
			Event: "change_external_contact", ChangeType: ct, UserID: "sales01",
			ExternalUserID: "wmEAlECwAAHrbWYDetiu3Af13xlYDDNQ"}
	}
	withState := func(m event.Message) event.Message {
		m.State, m.WelcomeCode = "channel_x", "WELCOMECODE"
		return m
	}
	app := func(typ string, at int64, id string) event.Message {
		return event.Message{ToUserName: corp, FromUserName: "zhangsan", CreateTime: at, MsgType: typ, MsgID: id, AgentID: "1000002"}
	}
	appEvent := func(ev string, at int64) event.Message {
		m := app("event", at, "")
		m.Event = ev
		return m
	}
	tests := []struct {
		file string
		kind event.Kind
		want func() event.Message
	}{
		{"kf_msg_or_event.xml", event.KindKf, func() event.Message {
			return event.Message{ToUserName: corp, CreateTime: 1348831860, MsgType: "event", Event: "kf_msg_or_event",
				Token: "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR", OpenKfID: "wkxxxxxxx"}
		}},
		{"app_text.xml", event.KindAppMessage, func() event.Message {
			m := app("text", 1583995625, "2018405441")
			m.FromUserName, m.Content = "member_userid", "x123"
			return m
		}},
		{"app_text_official.xml", event.KindAppMessage, func() event.Message {
			return event.Message{ToUserName: "wx5823bf96d3bd56c7", FromUserName: "mycreate", CreateTime: 1409659813,
				MsgType: "text", Content: "hello", MsgID: "4561255354251345929", AgentID: "218"}
		}},
		{"app_text_escaped.xml", event.KindAppMessage, func() event.Message {
			m := app("text", 1583995626, "2018405442")
			m.Content = `a <b> & "c" 你好 <raw>`
			return m
		}},
		{"contact_add_external_contact.xml", event.KindContact, func() event.Message { return withState(contact("add_external_contact")) }},
		{"contact_add_half_external_contact.xml", event.KindContact, func() event.Message { return withState(contact("add_half_external_contact")) }},
		{"contact_edit_external_contact.xml", event.KindContact, func() event.Message { return contact("edit_external_contact") }},
		{"contact_del_follow_user.xml", event.KindContact, func() event.Message { return contact("del_follow_user") }},
		{"contact_del_external_contact.xml", event.KindContact, func() event.Message {
			m := contact("del_external_contact")
			m.Source = "DELETE_BY_TRANSFER"
			return m
		}},
		{"contact_transfer_fail.xml", event.KindContact, func() event.Message {
			m := contact("transfer_fail")
			m.FailReason = "customer_refused"
			return m
		}},
		{"app_event_enter_agent.xml", event.KindAppEvent, func() event.Message { return appEvent("enter_agent", 1408091189) }},
		{"app_event_subscribe.xml", event.KindAppEvent, func() event.Message { return appEvent("subscribe", 1348831860) }},
		{"app_event_click.xml", event.KindAppEvent, func() event.Message {
			m := appEvent("click", 1348831861)
			m.EventKey = "menu_pricing"
			return m
		}},
		{"app_event_location.xml", event.KindAppEvent, func() event.Message {
			m := appEvent("LOCATION", 1348831862)
			m.Latitude, m.Longitude, m.Precision = "23.104105", "113.320107", "65.000000"
			return m
		}},
		{"app_event_scancode_push.xml", event.KindAppEvent, func() event.Message {
			m := appEvent("scancode_push", 1348831863)
			m.EventKey = "scan1" // <ScanCodeInfo> is nested and skipped
			return m
		}},
		{"app_image.xml", event.KindAppMessage, func() event.Message {
			m := app("image", 1348831860, "1234567890123456")
			m.PicURL, m.MediaID = "https://example.com/p.jpg", "media_id_img"
			return m
		}},
		{"app_voice.xml", event.KindAppMessage, func() event.Message {
			m := app("voice", 1357290913, "1234567890123457")
			m.MediaID, m.Format = "media_id_voice", "amr"
			return m
		}},
		{"app_video.xml", event.KindAppMessage, func() event.Message {
			m := app("video", 1357290914, "1234567890123458")
			m.MediaID, m.ThumbMediaID = "media_id_video", "thumb_media_id"
			return m
		}},
		{"app_location.xml", event.KindAppMessage, func() event.Message {
			m := app("location", 1351776360, "1234567890123459")
			m.LocationX, m.LocationY, m.Scale, m.Label = "23.134521", "113.358803", "20", "广州市天河区"
			return m
		}},
		{"app_link.xml", event.KindAppMessage, func() event.Message {
			m := app("link", 1348831860, "1234567890123460")
			m.Title, m.Description, m.URL, m.PicURL = "Pricing", "Our price list", "https://example.com/?a=1&b=2", "https://example.com/t.png"
			return m
		}},
		{"unknown_event.xml", event.KindUnknown, func() event.Message {
			return event.Message{ToUserName: corp, FromUserName: "sys", CreateTime: 1403610600, MsgType: "event",
				Event: "change_external_chat", ChangeType: "create"}
		}},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		covered[tc.file] = true
		t.Run(strings.TrimSuffix(tc.file, ".xml"), func(t *testing.T) {
			b := readFixture(t, tc.file)
			got, err := event.Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if want := tc.want(); got != want {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, want)
			}
			ref, err := stdParse(b)
			if err != nil {
				t.Fatalf("encoding/xml: %v", err)
			}
			if got != ref {
				t.Errorf("Parse differs from encoding/xml:\n%+v\n%+v", got, ref)
			}
			if k := got.Kind(); k != tc.kind {
				t.Errorf("Kind = %v, want %v", k, tc.kind)
			}
		})
	}
	files, _ := filepath.Glob("testdata/*.xml")
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("fixture %s has no test case", f)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", event.ErrSyntax},
		{"not XML", "hello world", event.ErrSyntax},
		{"JSON", `{"MsgType":"text"}`, event.ErrSyntax},
		{"other root", "<root><MsgType>text</MsgType></root>", event.ErrNoRoot},
		{"root is a child", "<a><xml><MsgType>text</MsgType></xml></a>", event.ErrNoRoot},
		{"empty root", "<xml></xml>", event.ErrNoMsgType},
		{"self-closing root", "<xml/>", event.ErrNoMsgType},
		{"empty MsgType", "<xml><MsgType><![CDATA[]]></MsgType></xml>", event.ErrNoMsgType},
		{"nested MsgType only", "<xml><A><MsgType>text</MsgType></A></xml>", event.ErrNoMsgType},
		{"truncated CDATA", "<xml><MsgType><![CDATA[te", event.ErrSyntax},
		{"truncated element", "<xml><MsgType>text", event.ErrSyntax},
		{"truncated root", "<xml><MsgType>text</MsgType>", event.ErrSyntax},
		{"truncated start tag", "<xml><MsgType", event.ErrSyntax},
		{"truncated comment", "<xml><!-- <MsgType>text</MsgType></xml>", event.ErrSyntax},
		{"truncated nested", "<xml><MsgType>text</MsgType><A><B>", event.ErrSyntax},
		{"end tag first", "</xml>", event.ErrSyntax},
		{"lt in tag", "<xml><Msg<Type>text</MsgType></xml>", event.ErrSyntax},
		{"no name", "<xml>< MsgType>text</MsgType></xml>", event.ErrSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := event.Parse([]byte(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %+v, %v; want %v", m, err, tc.want)
			}
			if !errors.Is(err, domain.ErrInvalid) {
				t.Errorf("%v does not wrap domain.ErrInvalid", err)
			}
		})
	}
}

func TestParseEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want event.Message
	}{
		{"duplicates: last wins", "<xml><MsgType>a</MsgType><MsgType>text</MsgType></xml>", event.Message{MsgType: "text"}},
		{"self-closing field", "<xml><MsgType>text</MsgType><Content/><Content /></xml>", event.Message{MsgType: "text"}},
		{"mixed text and CDATA", "<xml><MsgType>te<![CDATA[x]]>t</MsgType></xml>", event.Message{MsgType: "text"}},
		{"nested children skipped", "<xml><MsgType>te<b>zz<c/><d>q</d></b>xt</MsgType></xml>", event.Message{MsgType: "text"}},
		{"comment and PI inside", "<xml><MsgType>te<!-- x --><?pi x?>xt</MsgType></xml>", event.Message{MsgType: "text"}},
		{"CDATA hides markup", "<xml><Content><![CDATA[</Content><MsgType>x</MsgType>]]></Content><MsgType>text</MsgType></xml>",
			event.Message{MsgType: "text", Content: "</Content><MsgType>x</MsgType>"}},
		{"attributes with > in quotes", `<xml a="1>2"><MsgType b='>'>text</MsgType></xml>`, event.Message{MsgType: "text"}},
		{"namespace prefix", `<p:xml xmlns:p="urn:x"><p:MsgType>text</p:MsgType></p:xml>`, event.Message{MsgType: "text"}},
		{"CRLF normalised", "<xml><MsgType>text</MsgType><Content>a\r\nb\rc<![CDATA[\r\nd]]></Content></xml>",
			event.Message{MsgType: "text", Content: "a\nb\nc\nd"}},
		{"char refs", "<xml><MsgType>text</MsgType><Content>&#60;&#x3e;&#x1F600;&apos;</Content></xml>",
			event.Message{MsgType: "text", Content: "<>😀'"}},
		{"whitespace kept", "<xml><MsgType> text </MsgType></xml>", event.Message{MsgType: " text "}},
		{"CreateTime trimmed", "<xml><MsgType>text</MsgType><CreateTime>\n 42 \n</CreateTime></xml>", event.Message{MsgType: "text", CreateTime: 42}},
		{"CreateTime garbage", "<xml><MsgType>text</MsgType><CreateTime>soon</CreateTime></xml>", event.Message{MsgType: "text"}},
		{"prolog, doctype, BOM-less text", `<?xml version="1.0"?><!DOCTYPE xml [<!ELEMENT xml ANY>]><xml><MsgType>text</MsgType></xml>`, event.Message{MsgType: "text"}},
		{"trailing garbage ignored", "<xml><MsgType>text</MsgType></xml><<<>>>", event.Message{MsgType: "text"}},
		{"unknown tags ignored", "<xml><Foo>1</Foo><MsgType>text</MsgType><SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum>x</PicMd5Sum></item></PicList></SendPicsInfo></xml>",
			event.Message{MsgType: "text"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := event.Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got != tc.want {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tc.want)
			}
			// Where encoding/xml accepts the input, it must agree.
			if ref, err := stdParse([]byte(tc.in)); err == nil && ref != got {
				t.Errorf("encoding/xml disagrees:\n%+v", ref)
			}
		})
	}
}

func TestKind(t *testing.T) {
	tests := []struct {
		msgType, ev string
		want        event.Kind
		str         string
	}{
		{"text", "", event.KindAppMessage, "app_message"},
		{"file", "", event.KindAppMessage, "app_message"},
		{"event", "click", event.KindAppEvent, "app_event"},
		{"event", "kf_msg_or_event", event.KindKf, "kf"},
		{"event", "change_external_contact", event.KindContact, "contact"},
		{"event", "something_new", event.KindUnknown, "unknown"},
		{"event", "", event.KindUnknown, "unknown"},
		{"hologram", "", event.KindUnknown, "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.msgType+"/"+tc.ev, func(t *testing.T) {
			m := event.Message{MsgType: tc.msgType, Event: tc.ev}
			if got := m.Kind(); got != tc.want || got.String() != tc.str {
				t.Errorf("Kind = %v (%s), want %v (%s)", got, got, tc.want, tc.str)
			}
		})
	}
}

func TestDedupeKey(t *testing.T) {
	msg := event.Message{MsgType: "text", MsgID: "4561255354251345929", FromUserName: "a", CreateTime: 1}
	if got := msg.DedupeKey(); got != "msg:4561255354251345929" {
		t.Errorf("message key = %q", got)
	}
	base := event.Message{MsgType: "event", FromUserName: "sys", CreateTime: 1403610513, Event: "change_external_contact",
		ChangeType: "add_external_contact", ExternalUserID: "wm1", Token: "", UserID: "u1", State: "s"}
	key := base.DedupeKey()
	if !strings.HasPrefix(key, "evt:") || len(key) != 4+32 {
		t.Fatalf("event key = %q", key)
	}
	same := base
	same.UserID, same.State, same.WelcomeCode, same.ToUserName = "other", "other", "wc", "ww"
	if same.DedupeKey() != key {
		t.Error("key depends on fields outside the documented set")
	}
	mutations := map[string]func(*event.Message){
		"FromUserName":   func(m *event.Message) { m.FromUserName = "sys2" },
		"CreateTime":     func(m *event.Message) { m.CreateTime++ },
		"Event":          func(m *event.Message) { m.Event = "x" },
		"ChangeType":     func(m *event.Message) { m.ChangeType = "edit_external_contact" },
		"ExternalUserID": func(m *event.Message) { m.ExternalUserID = "wm2" },
		"Token":          func(m *event.Message) { m.Token = "T" },
		"field boundary": func(m *event.Message) { m.FromUserName, m.Event = "sysc", "hange_external_contact" },
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			m := base
			mutate(&m)
			if m.DedupeKey() == key {
				t.Errorf("changing %s does not change the key", name)
			}
		})
	}
}

func TestParseEncrypted(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want event.Encrypted
		err  error
	}{
		{"full", "<xml>\n  <ToUserName><![CDATA[ww1]]></ToUserName>\n  <Encrypt><![CDATA[abc+/=]]></Encrypt>\n  <AgentID><![CDATA[1000002]]></AgentID>\n</xml>",
			event.Encrypted{ToUserName: "ww1", Encrypt: "abc+/=", AgentID: "1000002"}, nil},
		{"no agent", "<xml><ToUserName>ww1</ToUserName><Encrypt>abc</Encrypt></xml>", event.Encrypted{ToUserName: "ww1", Encrypt: "abc"}, nil},
		{"no encrypt", "<xml><ToUserName>ww1</ToUserName></xml>", event.Encrypted{}, event.ErrNoEncrypt},
		{"garbage", "\x00\x01garbage", event.Encrypted{}, event.ErrSyntax},
		{"wrong root", "<x><Encrypt>abc</Encrypt></x>", event.Encrypted{}, event.ErrNoRoot},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := event.ParseEncrypted([]byte(tc.in))
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseEncrypted = %+v, want %+v", got, tc.want)
			}
		})
	}
}

package localstack_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wecom-crm-bot/infra/emulator"
	"wecom-crm-bot/infra/localstack"
	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/wecom/wxcrypt"
)

var staffMsgSeq atomic.Int64

// staffSays posts a member's text message to the self-built app callback,
// encrypted the way WeCom does (the emulator only plays customers).
func staffSays(t *testing.T, s *localstack.Stack, userID, text string) {
	t.Helper()
	c, err := wxcrypt.New(localstack.DemoToken, localstack.DemoAESKey, localstack.DemoCorpID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	id := strconv.FormatInt(now*1000+staffMsgSeq.Add(1), 10)
	msg := "<xml><ToUserName><![CDATA[" + localstack.DemoCorpID + "]]></ToUserName><FromUserName><![CDATA[" + userID +
		"]]></FromUserName><CreateTime>" + strconv.FormatInt(now, 10) + "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" +
		text + "]]></Content><MsgId>" + id + "</MsgId><AgentID>" + localstack.DemoAgentID + "</AgentID></xml>"
	enc, err := c.Encrypt([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	ts, nonce := strconv.FormatInt(now, 10), "n"+id
	q := url.Values{"msg_signature": {c.Signature(ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}}
	body := "<xml><ToUserName><![CDATA[" + localstack.DemoCorpID + "]]></ToUserName><Encrypt><![CDATA[" + enc +
		"]]></Encrypt><AgentID><![CDATA[" + localstack.DemoAgentID + "]]></AgentID></xml>"
	resp, err := http.Post(s.URL+"/wecom/default?"+q.Encode(), "text/xml", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback answered %d", resp.StatusCode)
	}
}

// appMessages returns what the app sent to userID through message/send.
func appMessages(s *localstack.Stack, userID string) []emulator.Outbound {
	var out []emulator.Outbound
	for _, o := range s.Emulator.Outbox() {
		if o.Channel == "app" && o.To == userID {
			out = append(out, o)
		}
	}
	return out
}

// ask sends a command and waits for the next app message to the member.
func ask(t *testing.T, s *localstack.Stack, userID, text string) string {
	t.Helper()
	before := len(appMessages(s, userID))
	staffSays(t, s, userID, text)
	waitFor(t, fmt.Sprintf("an answer to %q", text), 10*time.Second, func() bool { return len(appMessages(s, userID)) > before })
	return appMessages(s, userID)[before].Content
}

func TestStaffCommandsEndToEnd(t *testing.T) {
	s := start(t, stackOpts{})
	const rep = "sales01"
	tests := []struct {
		text string
		want []string
	}{
		{"帮助", []string{"客户 张三", "提醒我"}},
		{"客户 张三", []string{"**张三**", "上海星辰贸易有限公司", "林晓峰", "星辰贸易 2027 年度框架采购", "¥480,000", "电话沟通"}},
		{"/client 13700137006", []string{"**刘洋**", "海岸电子年度维保续约"}},
		{"客户 有限公司", []string{"请选择"}},
		{"客户 1", []string{"**张三**"}},
		{"提醒我 后天下午3点 给张三发报价单", []string{"已创建任务", "给张三发报价单", "15:00", "客户：张三"}},
		{"任务", []string{"发送星辰贸易最终报价", "给张三发报价单"}},
		{"进度 星辰贸易", []string{"谈判中", "发送最终报价", "方案演示"}},
		{"提醒我 今天凌晨1点 过去的事", []string{"已经过去"}},
	}
	for _, tc := range tests {
		got := ask(t, s, rep, tc.text)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q: answer lacks %q:\n%s", tc.text, w, got)
			}
		}
	}
	// Complete the task just created (the 2nd in the list: due after the seeded one).
	got := ask(t, s, rep, "完成 2")
	if !strings.Contains(got, "已完成：给张三发报价单") {
		t.Errorf("完成 2 = %q", got)
	}
	tasks, err := s.CRM.ListTasks(t.Context(), crm.TaskQuery{OwnerID: "own-01"})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range tasks {
		if x.Subject == "给张三发报价单" {
			t.Errorf("task still open in the CRM after 完成: %+v", x)
		}
	}
	// Plain text is not a command: the bot answers it, once.
	n := len(appMessages(s, rep))
	staffSays(t, s, rep, "发票怎么开？")
	waitFor(t, "the bot's answer", 10*time.Second, func() bool { return len(appMessages(s, rep)) > n })
	if got := appMessages(s, rep)[n].Content; !strings.Contains(got, "开票") {
		t.Errorf("bot answer to a non-command = %q", got)
	}
}

// The welcome on add_external_contact names a known client.
func TestWelcomeNamesClient(t *testing.T) {
	s := start(t, stackOpts{})
	if err := s.Emulator.AddExternalContact(t.Context(), "sales01", "wmDEMO_zhangsan", "张三", nil); err != nil {
		t.Fatal(err)
	}
	var welcome string
	waitFor(t, "the welcome", 10*time.Second, func() bool {
		for _, o := range s.Emulator.Outbox() {
			if o.Channel == "welcome" && o.To == "wmDEMO_zhangsan" {
				welcome = o.Content
				return true
			}
		}
		return false
	})
	if !strings.Contains(welcome, "张三") {
		t.Errorf("welcome does not name the client: %q", welcome)
	}
}

// A task due in one minute produces exactly one reminder, with the stack's
// own scheduled pass and two more passes running concurrently.
func TestReminderOnceAcrossConcurrentRuns(t *testing.T) {
	s := start(t, stackOpts{})
	subject := "一分钟后的提醒 " + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := s.CRM.CreateTask(t.Context(), domain.Task{OwnerID: "own-02", OwnerUserID: "sales02", ContactID: "c003",
		Subject: subject, Due: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		run, err := s.App.Reminders(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := run(t.Context()); err != nil {
				t.Errorf("reminders pass: %v", err)
			}
		})
	}
	wg.Wait()
	count := func() int {
		n := 0
		for _, o := range appMessages(s, "sales02") {
			if strings.Contains(o.Content, subject) {
				n++
			}
		}
		return n
	}
	waitFor(t, "the reminder", 10*time.Second, func() bool { return count() > 0 })
	time.Sleep(500 * time.Millisecond) // more scheduled passes run meanwhile
	if n := count(); n != 1 {
		t.Errorf("%d reminders for the task, want 1", n)
	}
}

package staff_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wecom-crm-bot/shared/crm"
	"wecom-crm-bot/shared/crm/builtin"
	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/staff"
	"wecom-crm-bot/shared/store/boltstore"
)

var cst = time.FixedZone("CST", 8*3600)

// now is a fixed Wednesday morning; the seed data's tasks are due around it.
var now = time.Date(2026, 11, 25, 10, 0, 0, 0, cst)

// flaky is a CRM that can be switched off (ErrUnavailable on every call).
type flaky struct {
	crm.CRM
	down atomic.Bool
}

func (f *flaky) err() error {
	if f.down.Load() {
		return domain.ErrUnavailable
	}
	return nil
}
func (f *flaky) SearchContacts(ctx context.Context, q string, n int) ([]domain.Contact, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.CRM.SearchContacts(ctx, q, n)
}
func (f *flaky) Context(ctx context.Context, id string) (domain.CustomerContext, error) {
	if err := f.err(); err != nil {
		return domain.CustomerContext{}, err
	}
	return f.CRM.Context(ctx, id)
}
func (f *flaky) CreateTask(ctx context.Context, t domain.Task) (domain.Task, error) {
	if err := f.err(); err != nil {
		return domain.Task{}, err
	}
	return f.CRM.CreateTask(ctx, t)
}
func (f *flaky) ListTasks(ctx context.Context, q crm.TaskQuery) ([]domain.Task, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.CRM.ListTasks(ctx, q)
}
func (f *flaky) CompleteTask(ctx context.Context, id string) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.CRM.CompleteTask(ctx, id)
}

type fixture struct {
	h   *staff.Handler
	crm *flaky
	b   *builtin.CRM
	st  *boltstore.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	b, err := builtin.New(builtin.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &flaky{CRM: b}
	owners := staff.OwnerMap{"sales01": "own-01", "sales02": "own-02", "sales03": "own-03"}
	h, err := staff.New(staff.Config{CRM: f, State: st, Owners: owners, Location: cst})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{h: h, crm: f, b: b, st: st}
}

func (fx *fixture) say(t *testing.T, user, text string) (string, bool) {
	t.Helper()
	r, ok, err := fx.h.Handle(t.Context(), user, text, now)
	if err != nil {
		t.Fatalf("Handle(%q): %v", text, err)
	}
	return r.Text, ok
}

func TestCommands(t *testing.T) {
	type step struct {
		user, text string
		ok         bool
		want, not  []string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"help", []step{{"sales01", "help", true, []string{"客户 张三", "任务", "提醒我", "完成", "推迟", "进度"}, nil}}},
		{"unknown text goes to the bot", []step{{"sales01", "今天天气怎么样", false, nil, nil}}},
		{"client by name", []step{{"sales01", "客户 张三", true,
			[]string{"**张三**", "VIP", "上海星辰贸易有限公司", "customer", "林晓峰", "星辰贸易 2027 年度框架采购", "谈判中", "¥480,000", "电话沟通", "发送星辰贸易最终报价"}, nil}}},
		{"client by phone", []step{{"sales02", "/client 139 0013 9003", true, []string{"**王芳**", "云杉科技服务器扩容"}, nil}}},
		{"client by company", []step{{"sales01", "客户 星辰贸易", true, []string{"**上海星辰贸易有限公司**", "张三", "李四", "星辰贸易仓储扫码枪", "¥36,000"}, nil}}},
		{"client not found", []step{{"sales01", "客户 不存在的人", true, []string{"没有找到"}, nil}}},
		{"ambiguous names list choices, then pick", []step{
			{"sales01", "客户 有限公司", true, []string{"请选择", "1. ", "张三", "王芳", "客户 1"}, nil},
			{"sales01", "客户 2", true, []string{"**李四**", "方案演示"}, nil},
		}},
		{"my tasks", []step{{"sales01", "任务", true, []string{"1. ", "发送星辰贸易最终报价", "明天 10:00"}, []string{"预约上门演示", "跟进云杉"}}}},
		{"unmapped rep", []step{{"intern9", "todo", true, []string{"还没有关联 CRM 负责人"}, nil}}},
		{"complete without a list", []step{{"sales01", "完成 1", true, []string{"请先发送「任务」"}, nil}}},
		{"create, list, complete", []step{
			{"sales02", "提醒我 周五下午3点 给王总发报价", true, []string{"已创建任务", "给王总发报价", "11-27（周五）15:00", "客户：王芳"}, nil},
			{"sales02", "任务", true, []string{"1. ", "跟进云杉科技预算审批", "2. ", "给王总发报价"}, nil},
			{"sales02", "完成 2", true, []string{"已完成：给王总发报价"}, nil},
			{"sales02", "任务", true, []string{"跟进云杉科技预算审批"}, []string{"给王总发报价"}},
			{"sales02", "完成 9", true, []string{"第 9 条不存在"}, nil},
		}},
		{"remind in the past", []step{{"sales01", "提醒我 今天早上8点 打电话", true, []string{"已经过去"}, nil}}},
		{"remind without a date", []step{{"sales01", "提醒我 给王总发报价", true, []string{"没看懂提醒的时间"}, nil}}},
		{"remind links a unique client", []step{{"sales03", "提醒我 明天上午 约刘总吃饭", true, []string{"已创建任务：**约刘总吃饭**", "明天 10:00", "客户：刘洋"}, nil}}},
		{"snooze", []step{
			{"sales01", "任务", true, []string{"发送星辰贸易最终报价"}, nil},
			{"sales01", "推迟 1 周五上午", true, []string{"已推迟", "11-27（周五）10:00"}, nil},
			{"sales01", "任务", true, []string{"11-27（周五）10:00 发送星辰贸易最终报价"}, []string{"明天 10:00"}},
			{"sales01", "推迟 1 今天早上8点", true, []string{"已经过去"}, nil},
		}},
		{"progress by company", []step{{"sales03", "进度 海岸电子", true, []string{"海岸电子产线传感器", "需求确认（已 7 天）", "提交样品", "海岸电子年度维保续约", "合同审批（已 5 天）"}, nil}}},
		{"progress by deal name", []step{{"sales01", "进度 星辰贸易 2027 年度框架采购", true, []string{"星辰贸易 2027 年度框架采购", "谈判中（已 15 天）", "发送最终报价", "2026-12-15"}, []string{"扫码枪"}}}},
		{"progress nothing", []step{{"sales01", "进度 火星", true, []string{"没有找到"}, nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t)
			for _, s := range tc.steps {
				got, ok := fx.say(t, s.user, s.text)
				if ok != s.ok {
					t.Fatalf("%q: ok = %v, want %v (%q)", s.text, ok, s.ok, got)
				}
				for _, w := range s.want {
					if !strings.Contains(got, w) {
						t.Errorf("%q: reply lacks %q:\n%s", s.text, w, got)
					}
				}
				for _, n := range s.not {
					if strings.Contains(got, n) {
						t.Errorf("%q: reply has %q:\n%s", s.text, n, got)
					}
				}
			}
		})
	}
}

// During a CRM outage the rep is told, and writes are kept and replayed.
func TestOutageKeepsWrites(t *testing.T) {
	fx := newFixture(t)
	fx.say(t, "sales01", "任务") // the list exists before the outage
	fx.crm.down.Store(true)
	for _, tc := range []struct{ text, want string }{
		{"客户 张三", "CRM 暂时无法访问"},
		{"任务", "CRM 暂时无法访问"},
		{"进度 星辰", "CRM 暂时无法访问"},
		{"提醒我 明天下午3点 给张三寄样品", "恢复后会自动创建"},
		{"完成 1", "恢复后自动完成"},
	} {
		got, ok := fx.say(t, "sales01", tc.text)
		if !ok || !strings.Contains(got, tc.want) {
			t.Errorf("%q during outage = %v %q, want %q", tc.text, ok, got, tc.want)
		}
	}
	// Still down: nothing applied, nothing lost.
	n, err := staff.Drain(t.Context(), fx.st, fx.crm, now.Add(2*time.Minute), 10)
	if n != 0 || err != nil {
		t.Fatalf("drain while down = %d, %v", n, err)
	}
	fx.crm.down.Store(false)
	n, err = staff.Drain(t.Context(), fx.st, fx.crm, now.Add(time.Hour), 10)
	if err != nil || n != 2 {
		t.Fatalf("drain after recovery = %d, %v; want 2", n, err)
	}
	ts, err := fx.b.ListTasks(t.Context(), crm.TaskQuery{OwnerID: "own-01"})
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, x := range ts {
		subjects = append(subjects, x.Subject)
	}
	if len(ts) != 1 || ts[0].Subject != "给张三寄样品" || ts[0].ContactID != "" && ts[0].ContactID != "c001" {
		t.Errorf("open tasks after replay = %v, want only the new one", subjects)
	}
	// A second drain has nothing left.
	if n, err := staff.Drain(t.Context(), fx.st, fx.crm, now.Add(2*time.Hour), 10); n != 0 || err != nil {
		t.Errorf("second drain = %d, %v", n, err)
	}
}

// Two clients share the surname: the task is created but not linked.
func TestRemindAmbiguousClient(t *testing.T) {
	fx := newFixture(t)
	if _, err := fx.b.CreateContact(t.Context(), crm.Identity{ExternalUserID: "wmZHANGWEI", Name: "张伟"}); err != nil {
		t.Fatal(err)
	}
	got, _ := fx.say(t, "sales01", "提醒我 明天下午3点 约张总吃饭")
	for _, w := range []string{"已创建任务：**约张总吃饭**", "明天 15:00", "未关联客户", "张三", "张伟"} {
		if !strings.Contains(got, w) {
			t.Errorf("reply lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "\n客户：") {
		t.Errorf("linked an ambiguous client:\n%s", got)
	}
}

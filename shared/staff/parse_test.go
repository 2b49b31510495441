package staff

import (
	"slices"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		kind Kind
		arg  string
		idx  []int
	}{
		{"帮助", true, KindHelp, "", nil},
		{"  HELP ", true, KindHelp, "", nil},
		{"/help", true, KindHelp, "", nil},
		{"？", true, KindHelp, "", nil},
		{"helpful tips", false, 0, "", nil},
		{"客户 张三", true, KindClient, "张三", nil},
		{"客户：张三", true, KindClient, "张三", nil},
		{"客户张三", true, KindClient, "张三", nil},
		{"/client 138 0013 8001", true, KindClient, "138 0013 8001", nil},
		{"／ｃｌｉｅｎｔ　星辰", true, KindClient, "星辰", nil},
		{"client", false, 0, "", nil},
		{"clients are great", false, 0, "", nil},
		{"任务", true, KindTasks, "", nil},
		{"我的任务", true, KindTasks, "", nil},
		{"TODO", true, KindTasks, "", nil},
		{"任务很多怎么办", false, 0, "", nil},
		{"提醒我 周五下午3点 给王总发报价", true, KindRemind, "周五下午3点 给王总发报价", nil},
		{"remind me tomorrow 3pm call Li", true, KindRemind, "tomorrow 3pm call Li", nil},
		{"提醒我", false, 0, "", nil},
		{"完成 3", true, KindComplete, "", []int{3}},
		{"完成3", true, KindComplete, "", []int{3}},
		{"完成 #2, 4", true, KindComplete, "", []int{2, 4}},
		{"done 1", true, KindComplete, "", []int{1}},
		{"完成 报价", false, 0, "", nil},
		{"完成 3 了吗", false, 0, "", nil},
		{"推迟 3 明天上午", true, KindSnooze, "明天上午", []int{3}},
		{"snooze 2 tomorrow 9am", true, KindSnooze, "tomorrow 9am", []int{2}},
		{"推迟 1", true, KindSnooze, "", []int{1}},
		{"进度 星辰贸易", true, KindProgress, "星辰贸易", nil},
		{"progress Acme deal", true, KindProgress, "Acme deal", nil},
		{"你好", false, 0, "", nil},
		{"订单 SO20261101 到哪了", false, 0, "", nil},
		{"", false, 0, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := Parse(tc.in)
			if ok != tc.ok {
				t.Fatalf("Parse(%q) ok = %v, want %v (%+v)", tc.in, ok, tc.ok, got)
			}
			if !ok {
				return
			}
			if got.Kind != tc.kind || got.Arg != tc.arg || !slices.Equal(got.Index, tc.idx) {
				t.Errorf("Parse(%q) = %+v, want kind %d arg %q idx %v", tc.in, got, tc.kind, tc.arg, tc.idx)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"帮助", "客户 张三", "/client 138", "任务", "提醒我 周五下午3点 给王总发报价", "完成 1,2", "推迟 3 明天上午", "进度 星辰", "ｈｅｌｐ", "完成 999999"} {
		f.Add(s)
	}
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, loc)
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := Parse(s)
		if !ok {
			if c.Kind != KindNone {
				t.Fatalf("not ok but kind %d", c.Kind)
			}
			return
		}
		if c.Kind == KindNone {
			t.Fatal("ok without a kind")
		}
		if (c.Kind == KindComplete || c.Kind == KindSnooze) && len(c.Index) == 0 {
			t.Fatalf("%q: %d without an index", s, c.Kind)
		}
		for _, i := range c.Index {
			if i <= 0 || i > 999 {
				t.Fatalf("%q: index %d", s, i)
			}
		}
		if c.Kind == KindRemind || c.Kind == KindSnooze {
			due, subject, ok := splitWhen(c.Arg, now, loc)
			if ok && (due.IsZero() || len(subject) > len(c.Arg)) {
				t.Fatalf("%q: splitWhen = %v %q", c.Arg, due, subject)
			}
		}
	})
}

func TestSplitWhen(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, loc) // a Wednesday
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, loc) }
	tests := []struct {
		in      string
		ok      bool
		want    time.Time
		subject string
	}{
		{"周五下午3点 给王总发报价", true, at(27, 15, 0), "给王总发报价"},
		{"周五下午3点给王总发报价", true, at(27, 15, 0), "给王总发报价"},
		{"周五下午4点半 回访张三", true, at(27, 16, 30), "回访张三"},
		{"明天上海客户拜访", true, at(26, 10, 0), "上海客户拜访"},
		{"明天下午 准备合同", true, at(26, 15, 0), "准备合同"},
		{"11月30日 14:00 开会", true, at(30, 14, 0), "开会"},
		{"今天下午5点，发样品", true, at(25, 17, 0), "发样品"},
		{"tomorrow 3pm call Li", true, at(26, 15, 0), "call Li"},
		{"friday send the quote", true, at(27, 10, 0), "send the quote"},
		{"给王总发报价", false, time.Time{}, ""},
		{"send the quote", false, time.Time{}, ""},
		{"", false, time.Time{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, subject, ok := splitWhen(tc.in, now, loc)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && (!got.Equal(tc.want) || subject != tc.subject) {
				t.Errorf("= %v %q, want %v %q", got, subject, tc.want, tc.subject)
			}
		})
	}
}

func TestSplitWhenDangling(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, loc)
	for in, want := range map[string]string{"明天下单": "下单", "明天晚上 吃饭": "吃饭", "明天上午 约刘总": "约刘总"} {
		if _, got, ok := splitWhen(in, now, loc); !ok || got != want {
			t.Errorf("splitWhen(%q) subject = %q, %v; want %q", in, got, ok, want)
		}
	}
}

package analytics_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"wecom-crm-bot/shared/analytics"
	"wecom-crm-bot/shared/store/boltstore"
	"wecom-crm-bot/shared/worker"
)

func openStore(t testing.TB) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var (
	day1 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	day2 = day1.Add(24 * time.Hour)
)

// seed records a known set of events over two days and two channels.
func seed(t *testing.T, r *analytics.Recorder) {
	t.Helper()
	ctx := t.Context()
	ev := func(at time.Time, ch string, e worker.Event) {
		e.At, e.Channel = at, ch
		r.Record(ctx, e)
	}
	for i := 0; i < 3; i++ {
		ev(day1, "kf", worker.Event{Kind: "message_in", Intent: "invoice", Answered: true})
		ev(day1, "kf", worker.Event{Kind: "message_out", Latency: 80 * time.Millisecond})
	}
	ev(day1, "kf", worker.Event{Kind: "conversation_start"})
	ev(day1, "app", worker.Event{Kind: "conversation_start"})
	ev(day1, "kf", worker.Event{Kind: "message_in", Intent: "unknown", Clarified: true, Text: "你们支持数字人民币吗？"})
	ev(day1, "kf", worker.Event{Kind: "unanswered", Text: "ignored: derived from message_in"})
	ev(day1, "kf", worker.Event{Kind: "message_in", Intent: "human", Text: "转人工"})
	ev(day2, "app", worker.Event{Kind: "message_in", Intent: "shipping", Answered: true})
	ev(day2, "app", worker.Event{Kind: "message_out", Latency: 1500 * time.Millisecond})
	ev(day2, "app", worker.Event{Kind: "message_in", Intent: "suggest", Text: "支持 数字人民币 吗"})
	ev(day2, "app", worker.Event{Kind: "message_in", Intent: "unknown", Text: "可以开发票到个人吗，我在外地"})
	ev(day2, "kf", worker.Event{Kind: "message_in", Text: "你们支持数字人民币吗?"})
	ev(day2, "kf", worker.Event{Kind: "handoff", Reason: "requested"})
	ev(day2, "kf", worker.Event{Kind: "csat", Score: 5})
	ev(day2, "app", worker.Event{Kind: "csat", Score: 3})
	ev(day2, "kf", worker.Event{Kind: "conversation_end", Reason: "survey"})
	ev(day2, "kf", worker.Event{Kind: "welcome", Reason: "known"})
}

func TestRecorderAndReport(t *testing.T) {
	st := openStore(t)
	r := analytics.New(st, analytics.WithFlushInterval(0))
	seed(t, r)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	q := analytics.NewQuery(st)
	isFAQ := func(s string) bool { return s == "invoice" || s == "shipping" }

	tests := []struct {
		name    string
		channel string
		check   func(t *testing.T, rep analytics.Report)
	}{
		{"all channels", "", func(t *testing.T, rep analytics.Report) {
			tot := rep.Totals
			if tot.MessagesIn != 9 || tot.MessagesOut != 4 || tot.Answered != 4 || tot.Unanswered != 4 || tot.Conversations != 2 || tot.Ended != 1 || tot.Handoffs != 1 {
				t.Errorf("totals = %+v", tot)
			}
			if len(rep.Days) != 2 || rep.Days[0].MessagesIn != 5 || rep.Days[1].MessagesIn != 4 {
				t.Errorf("days = %+v", rep.Days)
			}
			if rep.HandoffRate != 0.5 {
				t.Errorf("handoff rate = %v", rep.HandoffRate)
			}
			if got := rep.TopIntents[0]; got != (analytics.Count{Name: "invoice", Count: 3}) {
				t.Errorf("top intent = %+v", got)
			}
			if len(rep.FAQHits) != 2 {
				t.Errorf("faq hits = %+v", rep.FAQHits)
			}
			if rep.CSAT[4].Count != 1 || rep.CSAT[2].Count != 1 || rep.Totals.CSATAvg != 4 || rep.Days[1].CSATAvg != 4 {
				t.Errorf("csat = %+v avg %v", rep.CSAT, rep.Totals.CSATAvg)
			}
			// 3 × 80 ms (≤100) and 1 × 1500 ms (≤2000): p50 = 100, p95 = 2000.
			if rep.LatencyP50 != 100 || rep.LatencyP95 != 2000 {
				t.Errorf("latency p50/p95 = %d/%d", rep.LatencyP50, rep.LatencyP95)
			}
		}},
		{"one channel", "app", func(t *testing.T, rep analytics.Report) {
			if rep.Totals.MessagesIn != 3 || rep.Totals.Conversations != 1 || rep.Totals.Handoffs != 0 || rep.Totals.Unanswered != 2 {
				t.Errorf("app totals = %+v", rep.Totals)
			}
			if rep.LatencyP50 != 2000 {
				t.Errorf("app p50 = %d", rep.LatencyP50)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := q.Report(t.Context(), analytics.Range{From: day1, To: day2, Channel: tc.channel, IsFAQ: isFAQ})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, rep)
		})
	}

	groups, err := q.Unanswered(t.Context(), analytics.Range{From: day1, To: day2})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[0].Count != 3 || groups[1].Count != 1 {
		t.Fatalf("groups = %+v", groups)
	}
	if groups[0].Text != "你们支持数字人民币吗？" || strings.Join(groups[0].Channels, ",") != "app,kf" {
		t.Errorf("group 0 = %+v", groups[0])
	}
}

func TestRangeValidation(t *testing.T) {
	q := analytics.NewQuery(openStore(t))
	for _, r := range []analytics.Range{{}, {From: day2, To: day1}, {From: day1, To: day1.AddDate(2, 0, 0)}} {
		if _, err := q.Report(t.Context(), r); err == nil {
			t.Errorf("range %v..%v accepted", r.From, r.To)
		}
	}
}

func TestBackgroundFlushAndClose(t *testing.T) {
	st := openStore(t)
	r := analytics.New(st, analytics.WithFlushInterval(10*time.Millisecond))
	r.Record(t.Context(), worker.Event{At: day1, Kind: "message_in"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := st.Counts(t.Context(), analytics.SeriesMessages, day1, day1)
		if err != nil {
			t.Fatal(err)
		}
		if c["2026-03-02"]["in"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("background flush did not write")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Record(t.Context(), worker.Event{At: day1, Kind: "message_in"})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	c, _ := st.Counts(t.Context(), analytics.SeriesMessages, day1, day1)
	if c["2026-03-02"]["in"] != 2 {
		t.Errorf("after Close in = %d, want 2", c["2026-03-02"]["in"])
	}
}

func TestEMFLines(t *testing.T) {
	var buf bytes.Buffer
	r := analytics.New(openStore(t), analytics.WithFlushInterval(0), analytics.WithEMF(&buf))
	r.Record(t.Context(), worker.Event{At: day1, Channel: "kf", Kind: "message_out", Latency: 420 * time.Millisecond})
	r.Record(t.Context(), worker.Event{At: day1, Channel: "kf", Kind: "message_in", Intent: "unknown", Text: "secret question 13812345678"})
	if strings.Contains(buf.String(), "secret question") || strings.Contains(buf.String(), "13812345678") {
		t.Fatal("EMF line carries message text")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Service      string
		ReplyLatency float64
		MessagesOut  float64
	}
	if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
		t.Fatal(err)
	}
	d := doc.AWS.CloudWatchMetrics[0]
	if doc.AWS.Timestamp != day1.UnixMilli() || d.Namespace != analytics.Namespace || d.Dimensions[0][0] != "Service" || doc.Service != analytics.ServiceDimension {
		t.Errorf("directive = %+v", doc)
	}
	if doc.ReplyLatency != 420 || doc.MessagesOut != 1 || len(d.Metrics) != 2 || d.Metrics[1].Unit != "Milliseconds" {
		t.Errorf("values = %+v", doc)
	}
}

func TestGroupQuestions(t *testing.T) {
	tests := []struct {
		name  string
		texts []string
		want  []int
	}{
		{"exact after normalising", []string{"发票怎么开？", "发票 怎么开", "ＦＡＰＩＡＯ", "fapiao"}, []int{2, 2}},
		{"similar wording", []string{"能不能用数字人民币付款", "能用数字人民币付款吗", "你们几点下班"}, []int{2, 1}},
		{"punctuation only skipped", []string{"？？？", "   "}, []int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var evs []analytics.RawEvent
			for _, s := range tc.texts {
				evs = append(evs, analytics.RawEvent{Text: s})
			}
			got := analytics.GroupQuestions(evs, analytics.DefaultSimilarity)
			var counts []int
			for _, g := range got {
				counts = append(counts, g.Count)
			}
			if len(counts) != len(tc.want) {
				t.Fatalf("groups %v, want %v", counts, tc.want)
			}
			for i := range counts {
				if counts[i] != tc.want[i] {
					t.Fatalf("groups %v, want %v", counts, tc.want)
				}
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	b := func(ns ...int64) []analytics.Count {
		var out []analytics.Count
		for i, bound := range analytics.LatencyBounds() {
			out = append(out, analytics.Count{Name: itoa(bound), Count: ns[i]})
		}
		return append(out, analytics.Count{Name: "inf", Count: ns[len(ns)-1]})
	}
	tests := []struct {
		name     string
		buckets  []analytics.Count
		p        float64
		expected int64
	}{
		{"empty", b(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0.5, -1},
		{"all in first", b(10, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0.95, 100},
		{"p95 tail", b(95, 0, 0, 0, 5, 0, 0, 0, 0, 0), 0.95, 100},
		{"p96 tail", b(95, 0, 0, 0, 5, 0, 0, 0, 0, 0), 0.96, 2000},
		{"overflow", b(0, 0, 0, 0, 0, 0, 0, 0, 0, 1), 0.5, 40000},
	}
	for _, tc := range tests {
		if got := analytics.Percentile(tc.buckets, tc.p); got != tc.expected {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.expected)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func FuzzGroupQuestions(f *testing.F) {
	f.Add("发票怎么开？", "ＦＡＰＩＡＯ")
	f.Add("", "\xff\xfe")
	f.Fuzz(func(t *testing.T, a, b string) {
		g := analytics.GroupQuestions([]analytics.RawEvent{{Text: a}, {Text: b}, {Text: a}}, analytics.DefaultSimilarity)
		n := 0
		for _, x := range g {
			n += x.Count
		}
		if n > 3 {
			t.Fatalf("grouped %d of 3", n)
		}
	})
}

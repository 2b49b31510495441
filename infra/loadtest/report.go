package loadtest

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Markdown renders the report as the tables in docs/performance.md and
// docs/reliability.md.
func (r Report) Markdown() string {
	var b strings.Builder
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(&b, "| store | messages | conversations | deliveries | ack p50 | ack p90 | ack p99 | ack max | answered in | throughput |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %s | %s | %s | %.1f s | %.0f msg/s |\n\n",
		r.Store, r.Messages, r.Conversations, r.Deliveries, ms(r.Latency.P50), ms(r.Latency.P90), ms(r.Latency.P99),
		ms(r.Latency.Max), r.AnswerDuration.Seconds(), r.Throughput)
	codes := make([]int, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var st []string
	for _, c := range codes {
		name := fmt.Sprint(c)
		if c == 0 {
			name = "refused"
		}
		st = append(st, fmt.Sprintf("%s×%d", name, r.Status[c]))
	}
	fmt.Fprintf(&b, "| invariant / fault | count |\n|---|---:|\n")
	rows := []struct {
		k string
		v any
	}{
		{"customer messages answered exactly once", fmt.Sprintf("%d / %d", r.Answered, r.Messages)},
		{"unanswered", r.Unanswered},
		{"answered twice", r.DuplicateAnswers},
		{"repeated kf msgids", r.DuplicateMsgIDs},
		{"stray bot lines", r.StrayBotLines},
		{"ended conversations with exactly one note", fmt.Sprintf("%d / %d", r.NotesFound, r.NotesExpected)},
		{"duplicate notes / contacts", fmt.Sprintf("%d / %d", r.DuplicateNotes, r.DuplicateContacts)},
		{"callback deliveries by HTTP status", strings.Join(st, ", ")},
		{"emulator: callbacks sent / retried / given up", fmt.Sprintf("%d / %d / %d", r.Emulator.CallbacksSent, r.Emulator.CallbacksRetried, r.Emulator.CallbacksFailed)},
		{"emulator: sync_msg / send_msg / gettoken calls", fmt.Sprintf("%d / %d / %d", r.Emulator.SyncMsgCalls, r.Emulator.SendMsgCalls, r.Emulator.GetTokenCalls)},
		{"WeCom API errors injected (-1, 45009, 42001)", r.WeComInjected},
		{"CRM calls by the note sync / 5xx / 429 / timeouts / refused in outage", fmt.Sprintf("%d / %d / %d / %d / %d", r.CRM.Calls, r.CRM.Errors5xx, r.CRM.RateLimited, r.CRM.Timeouts, r.CRM.OutageRefused)},
		{"note upserts that reached the CRM", r.CRM.Upserts},
		{"notes dead-lettered / replayed", fmt.Sprintf("%d / %d", r.NotesDead, r.NotesReplay)},
		{"callback envelopes dead-lettered / replayed", fmt.Sprintf("%d / %d", r.QueueDead, r.QueueReplay)},
		{"worker restarts mid-sync", r.WorkerRestarts},
		{"Redis restarts", r.RedisRestarts},
		{"violations", len(r.Violations)},
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %v |\n", row.k, row.v)
	}
	return b.String()
}

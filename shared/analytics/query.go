package analytics

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"wecom-crm-bot/shared/domain"
	"wecom-crm-bot/shared/store"
)

// MaxDays bounds a query's date range.
const MaxDays = 366

// Range selects days [From, To] (UTC days, inclusive) and a channel ("" = all).
type Range struct {
	From, To time.Time
	Channel  string
	// IsFAQ, if set, tells which intents are FAQ entries (Report.FAQHits).
	IsFAQ func(intent string) bool
}

// Days returns the day keys of the range.
func (r Range) Days() []string {
	var out []string
	from, to := r.From.UTC().Truncate(24*time.Hour), r.To.UTC().Truncate(24*time.Hour)
	for d := from; !d.After(to) && len(out) < MaxDays; d = d.Add(24 * time.Hour) {
		out = append(out, store.DayKey(d))
	}
	return out
}

// Validate checks the range.
func (r Range) Validate() error {
	if r.From.IsZero() || r.To.IsZero() || r.To.Before(r.From) {
		return fmt.Errorf("analytics: range %s..%s: %w", store.DayKey(r.From), store.DayKey(r.To), domain.ErrInvalid)
	}
	if r.To.Sub(r.From) > MaxDays*24*time.Hour {
		return fmt.Errorf("analytics: range longer than %d days: %w", MaxDays, domain.ErrInvalid)
	}
	return nil
}

// Day is one day's numbers.
type Day struct {
	Day           string  `json:"day"`
	MessagesIn    int64   `json:"messages_in"`
	MessagesOut   int64   `json:"messages_out"`
	Answered      int64   `json:"answered"`
	Clarified     int64   `json:"clarified"`
	Unanswered    int64   `json:"unanswered"`
	Conversations int64   `json:"conversations"`
	Ended         int64   `json:"ended"`
	Handoffs      int64   `json:"handoffs"`
	CSATCount     int64   `json:"csat_count"`
	CSATAvg       float64 `json:"csat_avg"` // 0 when no answers
	csatSum       int64
}

// Count is a named count.
type Count struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// Report is the dashboard's data for one range.
type Report struct {
	From           string  `json:"from"`
	To             string  `json:"to"`
	Channel        string  `json:"channel"`
	Days           []Day   `json:"days"`
	Totals         Day     `json:"totals"`
	TopIntents     []Count `json:"top_intents"`
	FAQHits        []Count `json:"faq_hits"`
	HandoffRate    float64 `json:"handoff_rate"` // handoffs ÷ conversations started
	HandoffReasons []Count `json:"handoff_reasons"`
	CSAT           []Count `json:"csat"` // "1".."5", all five present
	EndReasons     []Count `json:"end_reasons"`
	Welcome        []Count `json:"welcome"`
	Sentiment      []Count `json:"sentiment"`
	Latency        []Count `json:"latency_buckets"` // upper bound ms, in order
	LatencyP50     int64   `json:"latency_p50_ms"`  // bucket upper bound; -1 when no data
	LatencyP95     int64   `json:"latency_p95_ms"`
}

// Query answers the dashboard's questions from the store.
type Query struct{ st Store }

// NewQuery returns a Query over st.
func NewQuery(st Store) *Query { return &Query{st: st} }

// Report computes the dashboard report for r.
func (q *Query) Report(ctx context.Context, r Range) (Report, error) {
	if err := r.Validate(); err != nil {
		return Report{}, err
	}
	rep := Report{From: store.DayKey(r.From), To: store.DayKey(r.To), Channel: r.Channel}
	counts := map[string]map[string]map[string]int64{}
	for _, s := range []string{SeriesMessages, SeriesConversations, SeriesIntent, SeriesHandoff, SeriesCSAT,
		SeriesLatency, SeriesWelcome, SeriesSentiment, SeriesEndReason} {
		c, err := q.st.Counts(ctx, SeriesFor(s, r.Channel), r.From, r.To)
		if err != nil {
			return Report{}, fmt.Errorf("analytics: counts %s: %w", s, err)
		}
		counts[s] = c
	}
	for _, day := range r.Days() {
		d := Day{Day: day}
		m := counts[SeriesMessages][day]
		d.MessagesIn, d.MessagesOut, d.Answered, d.Clarified, d.Unanswered = m["in"], m["out"], m["answered"], m["clarified"], m["unanswered"]
		c := counts[SeriesConversations][day]
		d.Conversations, d.Ended = c["start"], c["end"]
		for _, n := range counts[SeriesHandoff][day] {
			d.Handoffs += n
		}
		for score, n := range counts[SeriesCSAT][day] {
			v, _ := strconv.Atoi(score)
			d.CSATCount += n
			d.csatSum += int64(v) * n
		}
		if d.CSATCount > 0 {
			d.CSATAvg = round2(float64(d.csatSum) / float64(d.CSATCount))
		}
		rep.Days = append(rep.Days, d)
		t := &rep.Totals
		t.MessagesIn += d.MessagesIn
		t.MessagesOut += d.MessagesOut
		t.Answered += d.Answered
		t.Clarified += d.Clarified
		t.Unanswered += d.Unanswered
		t.Conversations += d.Conversations
		t.Ended += d.Ended
		t.Handoffs += d.Handoffs
		t.CSATCount += d.CSATCount
		t.csatSum += d.csatSum
	}
	if rep.Totals.CSATCount > 0 {
		rep.Totals.CSATAvg = round2(float64(rep.Totals.csatSum) / float64(rep.Totals.CSATCount))
	}
	if rep.Totals.Conversations > 0 {
		rep.HandoffRate = round2(float64(rep.Totals.Handoffs) / float64(rep.Totals.Conversations))
	}
	rep.TopIntents = top(counts[SeriesIntent], 10, nil)
	if r.IsFAQ != nil {
		rep.FAQHits = top(counts[SeriesIntent], 10, r.IsFAQ)
	}
	rep.HandoffReasons = top(counts[SeriesHandoff], 0, nil)
	rep.EndReasons = top(counts[SeriesEndReason], 0, nil)
	rep.Welcome = top(counts[SeriesWelcome], 0, nil)
	rep.Sentiment = top(counts[SeriesSentiment], 0, nil)
	sum := sumMembers(counts[SeriesCSAT])
	for i := 1; i <= 5; i++ {
		rep.CSAT = append(rep.CSAT, Count{Name: strconv.Itoa(i), Count: sum[strconv.Itoa(i)]})
	}
	lat := sumMembers(counts[SeriesLatency])
	for _, b := range latencyBounds {
		k := strconv.FormatInt(b, 10)
		rep.Latency = append(rep.Latency, Count{Name: k, Count: lat[k]})
	}
	rep.Latency = append(rep.Latency, Count{Name: "inf", Count: lat["inf"]})
	rep.LatencyP50, rep.LatencyP95 = Percentile(rep.Latency, 0.50), Percentile(rep.Latency, 0.95)
	return rep, nil
}

// Percentile returns the upper bound (ms) of the latency bucket holding
// quantile p of the observations in buckets (ordered as LatencyBounds plus
// "inf"); -1 without observations. "inf" reports twice the last bound.
func Percentile(buckets []Count, p float64) int64 {
	var total int64
	for _, b := range buckets {
		total += b.Count
	}
	if total == 0 {
		return -1
	}
	rank := int64(p*float64(total) + 0.999999) // ceil
	if rank < 1 {
		rank = 1
	}
	var cum int64
	for _, b := range buckets {
		cum += b.Count
		if cum >= rank {
			if b.Name == "inf" {
				return 2 * latencyBounds[len(latencyBounds)-1]
			}
			v, _ := strconv.ParseInt(b.Name, 10, 64)
			return v
		}
	}
	return 2 * latencyBounds[len(latencyBounds)-1]
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

func sumMembers(byDay map[string]map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for _, m := range byDay {
		for k, n := range m {
			out[k] += n
		}
	}
	return out
}

// top sums members over days and returns the n largest (0 = all), ties by name.
func top(byDay map[string]map[string]int64, n int, keep func(string) bool) []Count {
	var out []Count
	for k, v := range sumMembers(byDay) {
		if keep == nil || keep(k) {
			out = append(out, Count{Name: k, Count: v})
		}
	}
	slices.SortFunc(out, func(a, b Count) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	if out == nil {
		out = []Count{}
	}
	return out
}

// Events returns the raw events of kind (KindUnanswered, KindConversation)
// in r, oldest first.
func (q *Query) Events(ctx context.Context, r Range, kind string) ([]RawEvent, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var out []RawEvent
	for _, day := range r.Days() {
		rec, err := q.st.Get(ctx, BucketKey(kind, day))
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("analytics: events %s: %w", day, err)
		}
		var evs []RawEvent
		if err := json.Unmarshal(rec.Value, &evs); err != nil {
			continue // unreadable bucket: skip rather than fail the dashboard
		}
		for _, e := range evs {
			if r.Channel == "" || e.Channel == r.Channel {
				out = append(out, e)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b RawEvent) int { return a.At.Compare(b.At) })
	return out, nil
}

// Unanswered returns the unanswered questions in r grouped by similarity,
// largest group first.
func (q *Query) Unanswered(ctx context.Context, r Range) ([]Group, error) {
	evs, err := q.Events(ctx, r, KindUnanswered)
	if err != nil {
		return nil, err
	}
	return GroupQuestions(evs, DefaultSimilarity), nil
}

package analytics

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"wecom-crm-bot/shared/worker"
)

// Namespace is the CloudWatch namespace of the product's EMF metrics.
const Namespace = "WecomCrmBot"

// ServiceDimension is the one dimension every EMF metric carries
// (Service=wecom-crm-bot); alarms in template.yaml select on it.
const ServiceDimension = "wecom-crm-bot"

// Metric is one EMF metric value.
type Metric struct {
	Name  string
	Unit  string // Count, Milliseconds, None…
	Value float64
}

// EMF writes CloudWatch Embedded Metric Format lines (one JSON object per
// line) to a writer; on Lambda, stdout becomes metrics without API calls.
type EMF struct {
	mu sync.Mutex
	w  io.Writer
}

// NewEMF returns an EMF writer over w.
func NewEMF(w io.Writer) *EMF { return &EMF{w: w} }

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// Write emits one EMF line with the metrics at time at. channel, if set,
// is added as a property (not a dimension) for Logs Insights queries.
func (e *EMF) Write(at time.Time, channel string, ms ...Metric) error {
	if len(ms) == 0 {
		return nil
	}
	doc := map[string]any{"Service": ServiceDimension}
	dir := emfDirective{Namespace: Namespace, Dimensions: [][]string{{"Service"}}}
	for _, m := range ms {
		unit := m.Unit
		if unit == "" {
			unit = "Count"
		}
		dir.Metrics = append(dir.Metrics, emfMetric{Name: m.Name, Unit: unit})
		doc[m.Name] = m.Value
	}
	if channel != "" {
		doc["Channel"] = channel
	}
	doc["_aws"] = emfMeta{Timestamp: at.UnixMilli(), CloudWatchMetrics: []emfDirective{dir}}
	line, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = e.w.Write(line)
	return err
}

// Event writes the EMF metrics of one worker event (errors are dropped:
// metrics must not fail the work).
func (e *EMF) Event(at time.Time, ev worker.Event) {
	var ms []Metric
	switch ev.Kind {
	case "message_in":
		ms = []Metric{{Name: "MessagesIn", Value: 1}}
		if Unanswered(ev) {
			ms = append(ms, Metric{Name: "Unanswered", Value: 1})
		}
	case "message_out":
		ms = []Metric{{Name: "MessagesOut", Value: 1}}
		if ev.Latency > 0 {
			ms = append(ms, Metric{Name: "ReplyLatency", Unit: "Milliseconds", Value: float64(ev.Latency.Milliseconds())})
		}
	case "handoff":
		ms = []Metric{{Name: "Handoffs", Value: 1}}
	case "csat":
		ms = []Metric{{Name: "CSAT", Unit: "None", Value: float64(ev.Score)}}
	case "conversation_start":
		ms = []Metric{{Name: "Conversations", Value: 1}}
	default:
		return
	}
	_ = e.Write(at, ev.Channel, ms...)
}

// NoteDeadLetters reports notes moved to the dead-letter list in one pass
// (the NoteDeadLetters alarm in template.yaml watches it).
func (e *EMF) NoteDeadLetters(at time.Time, n int) error {
	return e.Write(at, "", Metric{Name: "NoteDeadLetters", Value: float64(n)})
}

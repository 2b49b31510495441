package bot

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"wecom-crm-bot/shared/domain"
)

// EvalItem is one labelled question of an evaluation set.
type EvalItem struct {
	Q  string `yaml:"q"`
	ID string `yaml:"id"` // expected FAQ entry id
}

// ParseEvalSet parses a YAML list of {q, id} items. Errors wrap
// domain.ErrInvalid.
func ParseEvalSet(data []byte) ([]EvalItem, error) {
	var items []EvalItem
	if err := yaml.Unmarshal(data, &items); err != nil {
		return nil, yamlErr("eval", err)
	}
	for i, it := range items {
		if it.Q == "" || it.ID == "" {
			return nil, fmt.Errorf("eval: item %d: q and id are required: %w", i+1, domain.ErrInvalid)
		}
	}
	return items, nil
}

// EvalMiss is an item whose top-1 answer was wrong.
type EvalMiss struct {
	Item       EvalItem
	Got        string
	Confidence float64
}

// EvalReport summarises retrieval quality over an evaluation set.
type EvalReport struct {
	Total int
	Top1  int // expected entry ranked first
	Top3  int // expected entry among the first three
	// Confident counts items answered directly (confidence at or above the
	// answer threshold) with the right entry; Wrong those answered directly
	// with a wrong one.
	Confident, Wrong int
	Misses           []EvalMiss
}

// Accuracy is the top-1 accuracy in [0, 1].
func (r EvalReport) Accuracy() float64 {
	if r.Total == 0 {
		return 0
	}
	return float64(r.Top1) / float64(r.Total)
}

// Evaluate runs every item through kb's FAQ retrieval (all channels).
// Unknown expected ids are counted as misses.
func Evaluate(kb *Knowledge, items []EvalItem) EvalReport {
	var r EvalReport
	for _, it := range items {
		r.Total++
		c := kb.Search(it.Q, "", 3)
		for i, x := range c {
			if x.ID == it.ID {
				if i == 0 {
					r.Top1++
				}
				r.Top3++
			}
		}
		if len(c) > 0 && c[0].Confidence >= kb.Thresholds.Answer {
			if c[0].ID == it.ID {
				r.Confident++
			} else {
				r.Wrong++
			}
		}
		if len(c) == 0 || c[0].ID != it.ID {
			m := EvalMiss{Item: it}
			if len(c) > 0 {
				m.Got, m.Confidence = c[0].ID, c[0].Confidence
			}
			r.Misses = append(r.Misses, m)
		}
	}
	return r
}

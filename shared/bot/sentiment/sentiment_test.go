package sentiment_test

import (
	"testing"

	"wecom-crm-bot/shared/bot/sentiment"
)

func TestScore(t *testing.T) {
	tests := []struct {
		text     string
		min, max float64
	}{
		{"", 0, 0},
		{"发票怎么开", 0, 0},
		{"谢谢，非常满意", 0.6, 1},
		{"不错", 0.3, 1},
		{"很好", 0.3, 1},
		{"不好", -1, -0.01},
		{"不满意", -1, -0.3},
		{"没问题", 0, 1},
		{"你们服务太差了", -1, -0.6},
		{"垃圾！！！骗子", -1, -0.9},
		{"气死我了😡", -1, -0.8},
		{"好的👍", 0.3, 1},
		{"this is terrible, worst service", -1, -0.8},
		{"not good", -1, -0.1},
		{"thanks, great help", 0.6, 1},
		{"发货太慢了？？", -1, -0.3},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			got := sentiment.Score(tc.text)
			if got < tc.min || got > tc.max {
				t.Fatalf("Score(%q) = %.2f, want in [%.2f, %.2f]", tc.text, got, tc.min, tc.max)
			}
		})
	}
}

func TestScoreOrdering(t *testing.T) {
	if a, b := sentiment.Score("差"), sentiment.Score("非常差!!"); b >= a {
		t.Fatalf("intensified %.2f not below plain %.2f", b, a)
	}
}

func FuzzScore(f *testing.F) {
	for _, s := range []string{"不不不好", "太太太", "!!!", "非常不满意😡😡", "no no not bad"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v := sentiment.Score(s); v < -1 || v > 1 || v != v {
			t.Fatalf("Score(%q) = %v", s, v)
		}
	})
}

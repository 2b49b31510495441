package backoff_test

import (
	"testing"
	"time"

	"wecom-crm-bot/shared/internal/backoff"
)

func TestDelay(t *testing.T) {
	for attempt := 0; attempt <= 12; attempt++ {
		upper := time.Second
		for i := 1; i < attempt && upper < 30*time.Second; i++ {
			upper *= 2
		}
		if upper > 30*time.Second {
			upper = 30 * time.Second
		}
		for range 50 {
			d := backoff.Delay(attempt, time.Second, 30*time.Second)
			if d < upper/2 || d > upper {
				t.Fatalf("attempt %d: %v not in [%v, %v]", attempt, d, upper/2, upper)
			}
		}
	}
}

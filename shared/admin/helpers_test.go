package admin_test

import (
	"time"

	"wecom-crm-bot/shared/worker"
)

func analyticsEvent(kind, text string) worker.Event {
	return worker.Event{At: time.Now(), Channel: "default", Kind: kind, Intent: "unknown", Text: text}
}

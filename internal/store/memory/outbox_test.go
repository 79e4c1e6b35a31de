package memory_test

import (
	"testing"
	"time"

	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/notify/notifytest"
	"github.com/sigil-dev/sigil/internal/notify/webhook"
	"github.com/sigil-dev/sigil/internal/store/memory"
)

func TestOutbox_Contract(t *testing.T) {
	notifytest.Run(t, func(*testing.T) notify.Outbox { return memory.NewOutbox(time.Now) })
}

func TestWebhooks_Contract(t *testing.T) {
	notifytest.RunWebhooks(t, func(*testing.T) webhook.Store { return memory.NewWebhooks() })
}

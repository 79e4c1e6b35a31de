package memory_test

import (
	"testing"
	"time"

	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/notify/notifytest"
	"github.com/sigil-dev/sigil/internal/store/memory"
)

func TestOutbox_Contract(t *testing.T) {
	notifytest.Run(t, func(*testing.T) notify.Outbox { return memory.NewOutbox(time.Now) })
}

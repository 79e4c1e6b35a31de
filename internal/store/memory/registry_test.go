package memory_test

import (
	"testing"
	"time"

	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/store/storetest"
)

func TestRegistry_Contract(t *testing.T) {
	storetest.RunRegistry(t, func(_ *testing.T, now func() time.Time) registry.Store {
		return memory.NewRegistry(now)
	})
}

func TestNotifyState_Contract(t *testing.T) {
	storetest.RunNotifyState(t, func(_ *testing.T, now func() time.Time) storetest.NotifyState {
		return memory.NewRegistry(now)
	}, false)
}

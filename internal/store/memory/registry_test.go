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

package memory_test

import (
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/store/memory"
	"github.com/sigil-dev/sigil/internal/store/storetest"
)

// The interfaces declared by this package's users above the domain
// packages (the domain ones are asserted in memory.go and registry.go).
var (
	_ httpapi.FailureCounter = (*memory.Registry)(nil)
	_ storetest.Store        = (*memory.Store)(nil)
)

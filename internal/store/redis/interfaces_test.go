package redis_test

import (
	"github.com/sigil-dev/sigil/internal/httpapi"
	"github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/internal/store/storetest"
)

// The interfaces declared by this package's users above the domain
// packages (the domain ones are asserted in redis.go, registry.go and
// sync.go).
var (
	_ httpapi.FailureCounter = (*redis.Store)(nil)
	_ storetest.Store        = (*redis.Store)(nil)
)

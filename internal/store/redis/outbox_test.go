package redis_test

import (
	"testing"
	"time"

	"github.com/sigil-dev/sigil/internal/notify"
	"github.com/sigil-dev/sigil/internal/notify/notifytest"
	"github.com/sigil-dev/sigil/internal/notify/webhook"
	"github.com/sigil-dev/sigil/internal/store/redis"
	"github.com/sigil-dev/sigil/test/redisserver"
)

func TestOutbox_Contract(t *testing.T) {
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	notifytest.Run(t, func(t *testing.T) notify.Outbox {
		return redis.NewOutbox(raw, "test:"+t.Name()+":", time.Now)
	})
}

func TestWebhooks_Contract(t *testing.T) {
	srv := redisserver.Start(t)
	raw := newRaw(t, srv)
	notifytest.RunWebhooks(t, func(t *testing.T) webhook.Store { return redis.NewWebhooks(raw, "test:"+t.Name()+":") })
}

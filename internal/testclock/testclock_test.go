package testclock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/sigil-dev/sigil/internal/testclock"
)

func TestClock_New(t *testing.T) {
	start := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	c := testclock.New(start)
	assert.Equal(t, start, c.Now(), "stands still")
	c.Advance(90 * time.Second)
	assert.Equal(t, start.Add(90*time.Second), c.Now())
	c.Set(start)
	assert.Equal(t, start, c.Now())
}

func TestClock_Wall(t *testing.T) {
	c := testclock.Wall()
	assert.WithinDuration(t, time.Now(), c.Now(), time.Second, "follows the real time")
	c.Advance(time.Hour)
	assert.WithinDuration(t, time.Now().Add(time.Hour), c.Now(), time.Second)
	target := time.Now().Add(-time.Minute)
	c.Set(target)
	assert.WithinDuration(t, target, c.Now(), time.Second)
}

func TestClock_concurrent(t *testing.T) {
	c := testclock.New(time.Unix(0, 0))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, time.Unix(800, 0), c.Now())
}

package app

import (
	"github.com/sigil-dev/sigil/internal/metrics"
	"github.com/sigil-dev/sigil/internal/registry"
)

// observeAudit exports the usage recorder's buffer (DESIGN §8): its depth,
// the events dropped because it was full, and those the store refused.
func observeAudit(m *metrics.Metrics, rec *registry.Recorder) {
	m.Gauge("sigil_audit_buffer_depth", "AUTHENTICATE events waiting in the recorder's buffer.", func() float64 {
		return float64(rec.Pending())
	})
	m.Gauge("sigil_audit_buffer_capacity", "Size of the recorder's buffer; a full buffer drops events.", func() float64 {
		return recorderSize
	})
	m.CounterFunc("sigil_audit_events_dropped_total", "AUTHENTICATE events dropped because the recorder's buffer was full.", func() float64 {
		return float64(rec.Dropped())
	})
	m.CounterFunc("sigil_audit_events_lost_total", "AUTHENTICATE events that could not be written to the store.", func() float64 {
		return float64(rec.Lost())
	})
}

// sizer is a store that can count its denylist entries and cutoffs (the
// memory store).
type sizer interface {
	Size() (denied, cutoffs int)
}

// observeDirectRevocation exports what is known without a replica: the
// store checks revocations on every request, so its state is never stale,
// and a store that can count its entries reports the denylist size.
func observeDirectRevocation(m *metrics.Metrics, st Store) {
	m.Gauge("sigil_replica_staleness_seconds", "Time since the replica was last confirmed in sync with Redis (-1: never loaded; 0 in direct mode, which checks the store on every request).", func() float64 {
		return 0
	})
	if sz, ok := st.(sizer); ok {
		m.Gauge("sigil_denylist_entries", "Denylist entries held by this instance's replica (direct mode: by the memory store).", func() float64 {
			denied, _ := sz.Size()
			return float64(denied)
		})
		m.Gauge("sigil_revocation_cutoffs", "Cutoffs held by this instance's replica (direct mode: by the memory store).", func() float64 {
			_, cutoffs := sz.Size()
			return float64(cutoffs)
		})
	}
}

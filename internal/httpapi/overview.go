package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sigil-dev/sigil/internal/registry"
)

// RevocationStats is what this instance holds of the revocation state,
// for the console's overview.
type RevocationStats struct {
	// Mode is "replica" (a replica of the shared store) or "direct" (the
	// store is asked on every request).
	Mode string
	// Denied and Cutoffs are the denylist entries in force and the cutoffs
	// held (-1 when not known: direct mode on Redis).
	Denied, Cutoffs int
	// Staleness is the time since the replica was last confirmed in sync
	// (negative: never loaded; 0 in direct mode).
	Staleness time.Duration
}

// overviewMaxRecords bounds the registered tokens GET /api/overview
// counts: at most this many of the newest records, read in pages of
// registry.MaxLimit (25 store pages); past it the counts say incomplete.
const overviewMaxRecords = 5000

// overviewView is the answer of GET /api/overview.
type overviewView struct {
	Tokens     tokenCounts    `json:"tokens"`
	Revocation revocationView `json:"revocation"`
	Keys       []keyView      `json:"keys"`
	Readiness  readinessView  `json:"readiness"`
	At         time.Time      `json:"at"`
}

// tokenCounts are registered tokens by kind, then status.
type tokenCounts struct {
	Counted  int                       `json:"counted"`
	Complete bool                      `json:"complete"`
	ByKind   map[string]map[string]int `json:"byKind"`
}

type revocationView struct {
	Mode             string   `json:"mode"`
	DenylistEntries  *int     `json:"denylistEntries"`
	Cutoffs          *int     `json:"cutoffs"`
	StalenessSeconds *float64 `json:"stalenessSeconds"`
}

// keyView is a signing key as the overview shows it: never key material.
type keyView struct {
	KID        string    `json:"kid"`
	Alg        string    `json:"alg"`
	Active     bool      `json:"active"`
	CreatedAt  time.Time `json:"createdAt"`
	AgeSeconds int64     `json:"ageSeconds"`
}

type readinessView struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// overview answers GET /api/overview (admin): registered tokens by kind and
// status (bounded: overviewMaxRecords), the revocation state this instance
// holds, the signing keys and their age, and readiness.
func (s *Server) overview(c echo.Context) error {
	ctx := c.Request().Context()
	now := s.cfg.Now().UTC().Truncate(time.Second)
	out := overviewView{At: now, Keys: []keyView{}}

	counts := tokenCounts{ByKind: map[string]map[string]int{}, Complete: true}
	if s.cfg.Registry != nil {
		f := registry.Filter{Limit: registry.MaxLimit}
		for {
			page, next, err := s.cfg.Registry.List(ctx, registryCaller(c), f)
			if err != nil {
				return registryError(err)
			}
			for _, r := range page {
				if counts.ByKind[r.Type] == nil {
					counts.ByKind[r.Type] = map[string]int{}
				}
				counts.ByKind[r.Type][string(r.Status)]++
				counts.Counted++
			}
			if next == "" {
				break
			}
			if counts.Counted >= overviewMaxRecords {
				counts.Complete = false
				break
			}
			f.Cursor = next
		}
	}
	out.Tokens = counts

	rv := revocationView{Mode: "direct"}
	if s.cfg.RevocationStats != nil {
		st := s.cfg.RevocationStats()
		rv.Mode = st.Mode
		if st.Denied >= 0 {
			rv.DenylistEntries = &st.Denied
		}
		if st.Cutoffs >= 0 {
			rv.Cutoffs = &st.Cutoffs
		}
		if st.Staleness >= 0 {
			secs := st.Staleness.Seconds()
			rv.StalenessSeconds = &secs
		}
	}
	out.Revocation = rv

	if set := s.cfg.Keys.Set(); set != nil {
		active := set.Active()
		for _, k := range set.All() {
			out.Keys = append(out.Keys, keyView{
				KID: k.KID, Alg: k.Alg, Active: k == active, CreatedAt: k.CreatedAt.UTC(),
				AgeSeconds: int64(now.Sub(k.CreatedAt) / time.Second),
			})
		}
	}
	status, checks := s.readiness(ctx)
	out.Readiness = readinessView{Status: status, Checks: checks}
	noStore(c)
	return c.JSON(http.StatusOK, out)
}

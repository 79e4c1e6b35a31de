package revocation

import (
	"strings"
	"time"

	"github.com/sigil-dev/sigil/internal/token"
)

// Cutoff dimensions: a cutoff rejects every token of that subject, resource
// or client issued at or before its time ("revoked before", DESIGN §5).
const (
	DimSubject   = "sub"
	DimClient    = "client"
	DimDashboard = "dashboard"
	DimApp       = "app"
	DimReport    = "report"
	// DimClientSubject is a subject as seen by one client: an issuer may cut
	// off its own tokens of a user without touching other tenants' tokens.
	DimClientSubject = "clientsub"
	// DimClientResource is a dashboard, app or report as seen by one
	// client: an issuer's resource cutoff covers only the tokens it minted,
	// so tenants whose patterns overlap (two report:* clients of one cloud)
	// cannot cut off each other's tokens. Its id is
	// "<client>\n<dim>:<resource id>".
	DimClientResource = "clientres"
)

// clientSubjectSep joins client id and subject; neither can contain it
// (ids are [A-Za-z0-9._:-], subjects printable).
const clientSubjectSep = "\n"

// Cutoff names one cutoff: a dimension and an id in it.
type Cutoff struct {
	Dim string
	ID  string
}

// Key is the cutoff's storage key, "<dim>:<id>".
func (c Cutoff) Key() string { return c.Dim + ":" + c.ID }

// ClientSubject is the cutoff of subject sub as minted by clientID.
func ClientSubject(clientID, sub string) Cutoff {
	return Cutoff{Dim: DimClientSubject, ID: clientID + clientSubjectSep + sub}
}

// ClientResource is the cutoff of resource res (a DimDashboard, DimApp or
// DimReport cutoff) as minted by clientID.
func ClientResource(clientID string, res Cutoff) Cutoff {
	return Cutoff{Dim: DimClientResource, ID: clientID + clientSubjectSep + res.Key()}
}

// splitClientResource is the inverse of ClientResource's id.
func splitClientResource(id string) (client, dim, resID string, ok bool) {
	client, res, ok := strings.Cut(id, clientSubjectSep)
	if !ok {
		return "", "", "", false
	}
	dim, resID, ok = strings.Cut(res, ":")
	if !ok || resID == "" || (dim != DimDashboard && dim != DimApp && dim != DimReport) {
		return "", "", "", false
	}
	return client, dim, resID, true
}

// ParseCutoffKey is the inverse of Cutoff.Key.
func ParseCutoffKey(key string) (Cutoff, bool) {
	dim, id, ok := strings.Cut(key, ":")
	if !ok || id == "" {
		return Cutoff{}, false
	}
	switch dim {
	case DimSubject, DimClient, DimDashboard, DimApp, DimReport, DimClientSubject:
		return Cutoff{Dim: dim, ID: id}, true
	case DimClientResource:
		if _, _, _, ok := splitClientResource(id); ok {
			return Cutoff{Dim: dim, ID: id}, true
		}
	}
	return Cutoff{}, false
}

// cutoffsOf lists the cutoffs that can apply to a token. It allocates; the
// replica's hot path looks its maps up directly instead.
func cutoffsOf(c *token.Claims) []Cutoff {
	out := make([]Cutoff, 0, 5)
	if c.Subject != "" {
		out = append(out, Cutoff{DimSubject, c.Subject})
		if c.ClientID != "" {
			out = append(out, ClientSubject(c.ClientID, c.Subject))
		}
	}
	if c.ClientID != "" {
		out = append(out, Cutoff{DimClient, c.ClientID})
	}
	var res Cutoff
	switch {
	case c.DashboardID != "":
		res = Cutoff{DimDashboard, c.DashboardID}
	case c.AppID != "":
		res = Cutoff{DimApp, c.AppID}
	case c.ReportID != "":
		res = Cutoff{DimReport, c.ReportID}
	}
	if res.Dim != "" {
		out = append(out, res)
		if c.ClientID != "" {
			out = append(out, ClientResource(c.ClientID, res))
		}
	}
	return out
}

// cutoffKeys is the Key of each of cutoffsOf(c), in the same order, built
// in one string (the keys are substrings of it): three allocations on the
// hot path of the memory store and direct mode instead of one per key and
// per client-scoped id. TestCutoffKeys holds it to cutoffsOf.
func cutoffKeys(c *token.Claims) []string {
	var resDim, resID string
	switch {
	case c.DashboardID != "":
		resDim, resID = DimDashboard, c.DashboardID
	case c.AppID != "":
		resDim, resID = DimApp, c.AppID
	case c.ReportID != "":
		resDim, resID = DimReport, c.ReportID
	}
	// The parts of each key, in cutoffsOf's order.
	var parts [5][5]string
	n := 0
	add := func(p ...string) {
		copy(parts[n][:], p)
		n++
	}
	if c.Subject != "" {
		add(DimSubject, ":", c.Subject)
		if c.ClientID != "" {
			add(DimClientSubject, ":", c.ClientID, clientSubjectSep, c.Subject)
		}
	}
	if c.ClientID != "" {
		add(DimClient, ":", c.ClientID)
	}
	if resDim != "" {
		add(resDim, ":", resID)
		if c.ClientID != "" {
			add(DimClientResource, ":", c.ClientID, clientSubjectSep, resDim+":"+resID)
		}
	}
	size := 0
	for _, key := range parts[:n] {
		for _, p := range key {
			size += len(p)
		}
	}
	var b strings.Builder
	b.Grow(size)
	var ends [5]int
	for i, key := range parts[:n] {
		for _, p := range key {
			b.WriteString(p)
		}
		ends[i] = b.Len()
	}
	all := b.String()
	keys := make([]string, n)
	start := 0
	for i := range keys {
		keys[i] = all[start:ends[i]]
		start = ends[i]
	}
	return keys
}

// cutBy reports whether a token falls to a cutoff at cut (Unix ms, as
// cutoffMilli reads it): its issue instant (token.Claims.IssuedAtMilli: the
// millisecond of its UUIDv7 jti, or the start of iat's second for older
// tokens) is at or before the cutoff. So a token minted a millisecond after
// a revoke-all lives, and one minted before it does not.
func cutBy(c *token.Claims, cut int64) bool {
	return cut != 0 && c.IssuedAt != nil && c.IssuedAtMilli() <= cut
}

// cutoffAt is the time a cutoff written at now carries: now to the
// millisecond, moved one millisecond on when it falls on a whole second,
// because a whole-second value marks an entry written before cutoffs had
// milliseconds (see cutoffMilli). Later, never earlier: a token minted in
// that millisecond is cut too.
func cutoffAt(now time.Time) time.Time {
	at := now.UTC().Truncate(time.Millisecond)
	if at.UnixMilli()%1000 == 0 {
		at = at.Add(time.Millisecond)
	}
	return at
}

// cutoffMilli reads a stored cutoff as Unix ms. A value on a whole second
// is an entry from when cutoffs had whole seconds and covered that whole
// second ("at or before" compared iat in seconds): it cuts to the end of
// that second, so no token it used to reject is accepted now. 0 for none.
func cutoffMilli(at time.Time) int64 {
	if at.IsZero() {
		return 0
	}
	ms := at.UnixMilli()
	if ms%1000 == 0 {
		ms += 999
	}
	return ms
}

package cloud

import (
	"context"
	"errors"
	"strings"
	"unicode"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/registry"
)

// Local is this deployment's registry of report tokens; *registry.Service
// satisfies it. Its errors are the registry's (*apperr.Error values or its
// sentinels); a record the caller may not see is not found.
type Local interface {
	// Delete returns only once every JWT of the record is denied.
	Delete(ctx context.Context, caller registry.Caller, id string) error
	// ListForReport lists the report's local tokens the caller may see.
	ListForReport(ctx context.Context, caller registry.Caller, reportID string) ([]registry.Record, error)
}

// Remote is the cloud deployment report tokens are published to (DESIGN
// §7, "Cloud"); *Publisher satisfies it. Each method is bounded by the
// configured cloud timeout; errors are *apperr.Error values: unavailable
// (503) when the cloud can't be reached in time, upstream_error (502) when
// it refuses, not_found for a token it does not have or this deployment did
// not publish.
type Remote interface {
	// Publish returns the published cloud token of reportID, creating it
	// (created true) when there is none, or giving it a new JWT when rotate.
	Publish(ctx context.Context, reportID string, rotate bool) (rec registry.Record, created bool, err error)
	// ReportTokens lists the published cloud tokens of reportID.
	ReportTokens(ctx context.Context, reportID string) ([]registry.Record, error)
	// Get returns one published cloud token.
	Get(ctx context.Context, id string) (registry.Record, error)
	// Delete revokes and deletes a published cloud token.
	Delete(ctx context.Context, id string) error
}

// The implementations this package is wired with.
var (
	_ Local  = (*registry.Service)(nil)
	_ Remote = (*Publisher)(nil)
)

// ServiceConfig configures a Service; Local is required.
type ServiceConfig struct {
	Local Local
	// Remote is the cloud deployment (cloud.url); nil turns publishing
	// off: publishing is not found and listings are local only.
	Remote Remote
}

// Service applies the rules of a report's tokens across this deployment
// and the cloud deployment it publishes to: who may publish, list and
// delete them (the caller must be allowed the report, as for a local
// token), and whether publishing is on at all.
type Service struct {
	local  Local
	remote Remote
}

// NewService returns a Service; it fails without a Local.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Local == nil {
		return nil, errors.New("cloud: Local is required")
	}
	return &Service{local: cfg.Local, remote: cfg.Remote}, nil
}

// errNotFound is what a caller gets for a token or report it may not act
// on, as for a missing one (404, never 403).
func errNotFound() error {
	return &apperr.Error{Code: apperr.CodeNotFound, Message: "token not found", Err: registry.ErrNotFound}
}

// allows reports whether c may act on resource.
func allows(c registry.Caller, resource string) bool {
	return c.Admin || (c.Allows != nil && c.Allows(resource))
}

// checkReport is invalid for a report id the registry would not take, and
// not found unless c may act on the report.
func checkReport(c registry.Caller, reportID string) error {
	if reportID == "" || len(reportID) > registry.MaxIDLen {
		return apperr.Invalid("id", "must be 1-%d characters", registry.MaxIDLen)
	}
	if !allows(c, "report:"+reportID) {
		return errNotFound()
	}
	return nil
}

// Publish returns the report's token on the cloud deployment for c:
// existing (created false), created (created true), or with a new JWT when
// rotate. A report id the registry would not take is invalid (field id); a
// report c may not act on is not found, and so is publishing when no cloud
// is configured. Nothing is recorded locally.
func (s *Service) Publish(ctx context.Context, c registry.Caller, reportID string, rotate bool) (registry.Record, bool, error) {
	if err := checkReport(c, reportID); err != nil {
		return registry.Record{}, false, err
	}
	if s.remote == nil {
		return registry.Record{}, false, apperr.New(apperr.CodeNotFound, "cloud publishing is not configured on this deployment (cloud.url)")
	}
	return s.remote.Publish(ctx, reportID, rotate)
}

// ReportTokens is the merged listing of a report's tokens.
type ReportTokens struct {
	// Local are the local records the caller may see.
	Local []registry.Record
	// Cloud are the published cloud tokens (Cloud true), when publishing is
	// on and the caller is allowed the report.
	Cloud []registry.Record
	// CloudErr is why Cloud is missing when the cloud failed (an
	// *apperr.Error of Remote); the listing is still good without them.
	CloudErr error
}

// ReportTokens lists the report's tokens for c: the local records and,
// with publishing on and c allowed the report, its published cloud tokens,
// both read at the same time. A local failure is the error; a cloud
// failure only leaves Cloud empty and sets CloudErr.
func (s *Service) ReportTokens(ctx context.Context, c registry.Caller, reportID string) (ReportTokens, error) {
	type remoteResult struct {
		recs []registry.Record
		err  error
	}
	var remotec chan remoteResult
	if s.remote != nil && allows(c, "report:"+reportID) {
		remotec = make(chan remoteResult, 1)
		go func() {
			recs, err := s.remote.ReportTokens(ctx, reportID)
			remotec <- remoteResult{recs, err}
		}()
	}
	local, err := s.local.ListForReport(ctx, c, reportID)
	var out ReportTokens
	if remotec != nil {
		r := <-remotec
		out.Cloud, out.CloudErr = r.recs, r.err
		if r.err != nil {
			out.Cloud = nil
		}
	}
	if err != nil {
		return ReportTokens{}, err
	}
	out.Local = local
	return out, nil
}

// Delete deletes the local record id for c or, when there is no such
// record and publishing is on, the published cloud token id: c must be
// allowed that token's report, as for a local one (not found otherwise).
// It returns only once the token's JWTs are denied.
func (s *Service) Delete(ctx context.Context, c registry.Caller, id string) error {
	err := s.local.Delete(ctx, c, id)
	if err == nil || s.remote == nil || !isNotFound(err) || !couldBeCloudID(id) {
		return err
	}
	// Not a local record: maybe a token this deployment published.
	rec, err := s.remote.Get(ctx, id)
	if err != nil {
		return err
	}
	if !allows(c, rec.Resource()) {
		return errNotFound()
	}
	return s.remote.Delete(ctx, id)
}

// couldBeCloudID reports whether id may be a record id of the cloud (one
// the registry could have made): other ids are not sent there.
func couldBeCloudID(id string) bool {
	return id != "" && len(id) <= registry.MaxIDLen && strings.IndexFunc(id, unicode.IsControl) < 0
}

// isNotFound reports whether err is the registry's not-found.
func isNotFound(err error) bool {
	if errors.Is(err, registry.ErrNotFound) {
		return true
	}
	e, ok := apperr.As(err)
	return ok && e.Code == apperr.CodeNotFound
}

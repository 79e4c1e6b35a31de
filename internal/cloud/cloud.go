package cloud

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/pkg/client"
)

// API is what Publisher needs of the cloud deployment; *client.Client
// satisfies it. Errors are *client.Error for an answer of the cloud, other
// errors for transport failures.
type API interface {
	// ClientID is the id this deployment authenticates with on the cloud.
	ClientID() string
	CreateToken(ctx context.Context, req client.CreateTokenRequest) (*client.Token, error)
	GetToken(ctx context.Context, id string) (*client.Token, error)
	GenerateToken(ctx context.Context, id string) (*client.Token, error)
	DeleteToken(ctx context.Context, id string) error
	ReportTokens(ctx context.Context, reportID string) (*client.ReportTokens, error)
}

var _ API = (*client.Client)(nil)

// Config configures a Publisher.
type Config struct {
	API API
	// PublicURL is the cloud's public base URL: a token's link is
	// {PublicURL}/view/{token}.
	PublicURL string
	// Timeout bounds each operation against the cloud (default 2s).
	Timeout time.Duration
}

// Publisher publishes report tokens on the cloud deployment. Only the
// cloud's tokens that this deployment created (createdBy = its client id
// on the cloud) are its published tokens; nothing is recorded locally.
type Publisher struct {
	api     API
	public  string
	timeout time.Duration
}

// New returns a Publisher.
func New(cfg Config) *Publisher {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	return &Publisher{api: cfg.API, public: strings.TrimRight(cfg.PublicURL, "/"), timeout: cfg.Timeout}
}

// Errors are *apperr.Error values, ready for the HTTP layer:
//   - the cloud unreachable, timing out, or answering 5xx or 429:
//     apperr.CodeUnavailable wrapping ErrUnavailable;
//   - the cloud refusing this deployment (credentials, resources):
//     apperr.CodeUpstream wrapping ErrRejected;
//   - a published token that does not exist: apperr.CodeNotFound
//     wrapping registry.ErrNotFound;
//   - input the cloud rejects: apperr.CodeInvalid naming the field.
var (
	// ErrUnavailable: the cloud could not be reached in time or failed.
	ErrUnavailable = errors.New("cloud deployment unavailable")
	// ErrRejected: the cloud refused this deployment's request.
	ErrRejected = errors.New("cloud deployment refused the request")
)

// classify turns an error of the cloud API into the error Publisher returns.
func classify(op string, err error) error {
	var ce *client.Error
	if !errors.As(err, &ce) {
		return apperr.Wrap(apperr.CodeUnavailable, "the cloud deployment is unavailable, retry later",
			fmt.Errorf("cloud %s: %w: %w", op, ErrUnavailable, err))
	}
	switch {
	case ce.Status >= 500 || errors.Is(ce, client.ErrRateLimited):
		return apperr.Wrap(apperr.CodeUnavailable, "the cloud deployment is unavailable, retry later",
			fmt.Errorf("cloud %s: %w: %w", op, ErrUnavailable, err))
	case errors.Is(ce, client.ErrInvalidRequest) && ce.Field != "":
		return &apperr.Error{Code: apperr.CodeInvalid, Field: ce.Field, Message: "the cloud deployment rejected it: " + ce.Message, Err: err}
	}
	return apperr.Wrap(apperr.CodeUpstream, "the cloud deployment refused the request",
		fmt.Errorf("cloud %s: %w: %w", op, ErrRejected, err))
}

func notFound() error {
	return &apperr.Error{Code: apperr.CodeNotFound, Message: "token not found", Err: registry.ErrNotFound}
}

// publishedName is the name of the published token of reportID: created
// with uniqueName, so that two concurrent publications of a report cannot
// both create one (a share link's name is otherwise not unique).
func publishedName(reportID string) string {
	const prefix = "published:"
	if len(prefix)+len(reportID) <= registry.MaxNameLen && !strings.ContainsFunc(reportID, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return prefix + reportID
	}
	sum := sha256.Sum256([]byte(reportID))
	return prefix + "sha256:" + hex.EncodeToString(sum[:])
}

// live reports whether a cloud token's JWT can still be used.
func live(t client.Token) bool {
	return t.Status == string(registry.StatusGeneratedInactive) || t.Status == string(registry.StatusGeneratedActive)
}

// Publish returns the published cloud token of reportID, creating it when
// there is none (created true), or giving it a new JWT when rotate is true
// (the previous URL stops working). The record's URL is set when its JWT
// is known: always for a created or rotated token, for an existing one only
// when the cloud reveals tokens (registry.reveal_tokens on the cloud).
func (p *Publisher) Publish(ctx context.Context, reportID string, rotate bool) (rec registry.Record, created bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	for attempt := 0; attempt < 2; attempt++ {
		existing, found, err := p.find(ctx, reportID)
		if err != nil {
			return registry.Record{}, false, err
		}
		if found && live(existing) {
			if !rotate {
				return p.record(existing), false, nil
			}
			t, err := p.api.GenerateToken(ctx, existing.ID)
			if err != nil {
				return registry.Record{}, false, classify("generate", err)
			}
			return p.record(*t), false, nil
		}
		if found {
			// Expired or half-deleted: it holds the name; clear it away.
			if err := p.api.DeleteToken(ctx, existing.ID); err != nil && !errors.Is(err, client.ErrNotFound) {
				return registry.Record{}, false, classify("delete", err)
			}
		}
		t, err := p.api.CreateToken(ctx, client.CreateTokenRequest{Type: client.KindReport, ReportID: reportID, Name: publishedName(reportID), UniqueName: true})
		if errors.Is(err, client.ErrConflict) {
			continue // published concurrently: read it back
		}
		if err != nil {
			return registry.Record{}, false, classify("create", err)
		}
		return p.record(*t), true, nil
	}
	return registry.Record{}, false, apperr.New(apperr.CodeConflict, "the report is being published concurrently; retry")
}

// find returns this deployment's published token of reportID.
func (p *Publisher) find(ctx context.Context, reportID string) (client.Token, bool, error) {
	ts, err := p.list(ctx, reportID)
	if err != nil {
		return client.Token{}, false, err
	}
	name := publishedName(reportID)
	for _, t := range ts {
		if t.Name == name {
			return t, true, nil
		}
	}
	return client.Token{}, false, nil
}

// list returns the cloud tokens of reportID that this deployment created.
func (p *Publisher) list(ctx context.Context, reportID string) ([]client.Token, error) {
	out, err := p.api.ReportTokens(ctx, reportID)
	if err != nil {
		return nil, classify("list", err)
	}
	mine := out.Tokens[:0]
	for _, t := range out.Tokens {
		if t.CreatedBy == p.api.ClientID() && t.Type == client.KindReport && t.ReportID == reportID {
			mine = append(mine, t)
		}
	}
	return mine, nil
}

// ReportTokens lists the published cloud tokens of reportID, as records
// with Cloud true (and URL when the cloud reveals their JWT).
func (p *Publisher) ReportTokens(ctx context.Context, reportID string) ([]registry.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	ts, err := p.list(ctx, reportID)
	if err != nil {
		return nil, err
	}
	out := make([]registry.Record, 0, len(ts))
	for _, t := range ts {
		out = append(out, p.record(t))
	}
	return out, nil
}

// Get returns the published cloud token id; a not-found error for a token
// that does not exist on the cloud or that this deployment did not publish.
func (p *Publisher) Get(ctx context.Context, id string) (registry.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	t, err := p.api.GetToken(ctx, id)
	if errors.Is(err, client.ErrNotFound) || errors.Is(err, client.ErrInvalidRequest) {
		// The cloud has no such token, or no such id could be one.
		return registry.Record{}, notFound()
	}
	if err != nil {
		return registry.Record{}, classify("get", err)
	}
	if t.CreatedBy != p.api.ClientID() || t.Type != client.KindReport {
		return registry.Record{}, notFound()
	}
	return p.record(*t), nil
}

// Delete revokes and deletes the published cloud token id; it returns once
// the cloud has denied its JWTs.
func (p *Publisher) Delete(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	err := p.api.DeleteToken(ctx, id)
	if errors.Is(err, client.ErrNotFound) || errors.Is(err, client.ErrInvalidRequest) {
		return notFound()
	}
	if err != nil {
		return classify("delete", err)
	}
	return nil
}

// record is a cloud token as the local API shows it: Cloud true, its public
// URL when the JWT is known, never the JWT itself in another field.
func (p *Publisher) record(t client.Token) registry.Record {
	r := registry.Record{
		ID: t.ID, Type: t.Type, Name: t.Name, Owner: t.Owner, ReportID: t.ReportID,
		Scopes: t.Scopes, ReadOnly: t.ReadOnly, Cloud: true, Status: registry.Status(t.Status),
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, GeneratedAt: t.GeneratedAt, LastUsedAt: t.LastUsedAt,
		CreatedBy: t.CreatedBy, TokenHint: t.TokenHint,
	}
	if t.Token != "" && live(t) {
		r.URL = p.public + "/view/" + url.PathEscape(t.Token)
	}
	return r
}

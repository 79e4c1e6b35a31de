package redis

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/registry"
)

// The storage format. What this store writes as JSON is defined here, apart
// from the domain types (registry.Record, clients.Client, registry.LogEntry)
// and from the API's response types (internal/httpapi), so that renaming a
// field of either never changes what Redis holds.
//
// Every stored value carries "v", the version of its format. Values written
// before the format was versioned have no "v" and exactly version 1's
// fields, so they are read as version 1. A value of a version this code
// does not know is an error rather than a partial read: a rolled-back
// binary must not rewrite a newer record with fields dropped. Changing a
// struct below therefore means a new version: a new struct, a decoder that
// still reads the old one, and a test that decodes a value of the old one
// exactly as it was written.

// formatV1 is the version this code writes for clients and log entries,
// and the first version of records.
const formatV1 = 1

// recordFormatV2 is the version of records this code writes (recordV2):
// version 1 plus the expiry preset, the revocation time and uniqueName
// (issue 14: revoked records are kept, presets count from each
// generation, share links' names are unique only on request).
const recordFormatV2 = 2

// recordV2 is a registry.Record at rest (<prefix>rec:<id>). Unlike the API,
// storage keeps the jti and the sealed JWT.
type recordV2 struct {
	V           int        `json:"v"`
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Name        string     `json:"name"`
	Owner       string     `json:"owner"`
	ReportID    string     `json:"reportId,omitempty"`
	AppID       string     `json:"appId,omitempty"`
	Scopes      []string   `json:"scopes"`
	ReadOnly    bool       `json:"readOnly"`
	Cloud       bool       `json:"cloud"`
	URL         string     `json:"url,omitempty"`
	Status      string     `json:"status"`
	UniqueName  bool       `json:"uniqueName,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	ExpiresAt   *time.Time `json:"expiresAt"`
	ExpiresIn   string     `json:"expiresIn,omitempty"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	GeneratedAt *time.Time `json:"generatedAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt"`
	CreatedBy   string     `json:"createdBy"`
	TokenHint   string     `json:"tokenHint,omitempty"`
	JTI         string     `json:"jti,omitempty"`
	Sealed      []byte     `json:"sealed,omitempty"`
}

// recordV1 is a record as version 1 (and values from before versioning)
// wrote it; decodeRecord still reads it.
type recordV1 struct {
	V           int        `json:"v"`
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Name        string     `json:"name"`
	Owner       string     `json:"owner"`
	ReportID    string     `json:"reportId,omitempty"`
	AppID       string     `json:"appId,omitempty"`
	Scopes      []string   `json:"scopes"`
	ReadOnly    bool       `json:"readOnly"`
	Cloud       bool       `json:"cloud"`
	URL         string     `json:"url,omitempty"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"createdAt"`
	ExpiresAt   *time.Time `json:"expiresAt"`
	GeneratedAt *time.Time `json:"generatedAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt"`
	CreatedBy   string     `json:"createdBy"`
	TokenHint   string     `json:"tokenHint,omitempty"`
	JTI         string     `json:"jti,omitempty"`
	Sealed      []byte     `json:"sealed,omitempty"`
}

// clientV1 is a clients.Client at rest (<prefix>client:<id>).
type clientV1 struct {
	V               int       `json:"v"`
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Role            string    `json:"role"`
	Resources       []string  `json:"resources"`
	Scopes          []string  `json:"scopes"`
	MaxTokenExpiry  int64     `json:"maxTokenExpiry"`
	SecretHash      []byte    `json:"secretHash"`
	CreatedAt       time.Time `json:"createdAt"`
	SecretRotatedAt time.Time `json:"secretRotatedAt,omitzero"`
}

// logEntryV1 is a registry.LogEntry at rest: the JSON part of a member of
// <prefix>reclogs:<id>, after its tie-breaker.
type logEntryV1 struct {
	V        int       `json:"v"`
	Activity string    `json:"activity"`
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	Result   string    `json:"result"`
}

// checkVersion accepts version 1 and values from before versioning (0).
func checkVersion(v int) error {
	if v != 0 && v != formatV1 {
		return fmt.Errorf("stored format version %d is newer than this binary reads (%d)", v, formatV1)
	}
	return nil
}

func encodeRecord(r registry.Record) ([]byte, error) {
	return json.Marshal(recordV2{
		V: recordFormatV2, ID: r.ID, Type: r.Type, Name: r.Name, Owner: r.Owner, ReportID: r.ReportID, AppID: r.AppID,
		Scopes: r.Scopes, ReadOnly: r.ReadOnly, Cloud: r.Cloud, URL: r.URL, Status: string(r.Status), UniqueName: r.UniqueName,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, ExpiresIn: r.ExpiresIn, RevokedAt: r.RevokedAt,
		GeneratedAt: r.GeneratedAt, LastUsedAt: r.LastUsedAt,
		CreatedBy: r.CreatedBy, TokenHint: r.TokenHint, JTI: r.JTI, Sealed: r.Sealed,
	})
}

// decodeRecord reads a stored record of version 2, or of version 1 or
// before (no expiry preset, no revocation time); op prefixes its errors.
func decodeRecord(op string, b []byte) (registry.Record, error) {
	var head struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return registry.Record{}, fmt.Errorf("%s: decode record: %w", op, err)
	}
	var r registry.Record
	switch head.V {
	case recordFormatV2:
		var s recordV2
		if err := json.Unmarshal(b, &s); err != nil {
			return registry.Record{}, fmt.Errorf("%s: decode record: %w", op, err)
		}
		r = registry.Record{
			ID: s.ID, Type: s.Type, Name: s.Name, Owner: s.Owner, ReportID: s.ReportID, AppID: s.AppID,
			Scopes: s.Scopes, ReadOnly: s.ReadOnly, Cloud: s.Cloud, URL: s.URL, Status: registry.Status(s.Status), UniqueName: s.UniqueName,
			CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt, ExpiresIn: s.ExpiresIn, RevokedAt: s.RevokedAt,
			GeneratedAt: s.GeneratedAt, LastUsedAt: s.LastUsedAt,
			CreatedBy: s.CreatedBy, TokenHint: s.TokenHint, JTI: s.JTI, Sealed: s.Sealed,
		}
	case 0, formatV1:
		var s recordV1
		if err := json.Unmarshal(b, &s); err != nil {
			return registry.Record{}, fmt.Errorf("%s: decode record: %w", op, err)
		}
		r = registry.Record{
			ID: s.ID, Type: s.Type, Name: s.Name, Owner: s.Owner, ReportID: s.ReportID, AppID: s.AppID,
			Scopes: s.Scopes, ReadOnly: s.ReadOnly, Cloud: s.Cloud, URL: s.URL, Status: registry.Status(s.Status),
			CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt, GeneratedAt: s.GeneratedAt, LastUsedAt: s.LastUsedAt,
			CreatedBy: s.CreatedBy, TokenHint: s.TokenHint, JTI: s.JTI, Sealed: s.Sealed,
		}
	default:
		return registry.Record{}, fmt.Errorf("%s: decode record: stored format version %d is newer than this binary reads (%d)", op, head.V, recordFormatV2)
	}
	return r.Clone(), nil
}

func encodeClient(c clients.Client) ([]byte, error) {
	return json.Marshal(clientV1{
		V: formatV1, ID: c.ID, Name: c.Name, Role: c.Role, Resources: c.Resources, Scopes: c.Scopes,
		MaxTokenExpiry: c.MaxTokenExpiry, SecretHash: c.SecretHash, CreatedAt: c.CreatedAt,
		SecretRotatedAt: c.SecretRotatedAt,
	})
}

// decodeClient reads a stored client record; op prefixes its errors.
func decodeClient(op string, b []byte) (clients.Client, error) {
	var s clientV1
	if err := json.Unmarshal(b, &s); err != nil {
		return clients.Client{}, fmt.Errorf("%s: decode record: %w", op, err)
	}
	if err := checkVersion(s.V); err != nil {
		return clients.Client{}, fmt.Errorf("%s: decode record: %w", op, err)
	}
	return clients.Client{
		ID: s.ID, Name: s.Name, Role: s.Role, Resources: s.Resources, Scopes: s.Scopes,
		MaxTokenExpiry: s.MaxTokenExpiry, SecretHash: s.SecretHash, CreatedAt: s.CreatedAt,
		SecretRotatedAt: s.SecretRotatedAt,
	}, nil
}

func encodeLogEntry(e registry.LogEntry) ([]byte, error) {
	return json.Marshal(logEntryV1{V: formatV1, Activity: e.Activity, At: e.At, By: e.By, Result: e.Result})
}

// decodeLogEntry reads the JSON part of a stored log member.
func decodeLogEntry(b []byte) (registry.LogEntry, error) {
	var s logEntryV1
	if err := json.Unmarshal(b, &s); err != nil {
		return registry.LogEntry{}, err
	}
	if err := checkVersion(s.V); err != nil {
		return registry.LogEntry{}, err
	}
	return registry.LogEntry{Activity: s.Activity, At: s.At, By: s.By, Result: s.Result}, nil
}

package redis

import (
	"context"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/clients"
	"github.com/sigil-dev/sigil/internal/registry"
	"github.com/sigil-dev/sigil/test/redisserver"
)

// The values below are byte for byte what sigil wrote before the storage
// format was versioned (registry.Record's and clients.Client's own JSON
// tags, commit 2aec2c9): Redis instances hold them, so they must keep
// reading as they did.
const (
	legacyRecordFull = `{"id":"rec-1","type":"report","name":"sales board","owner":"alice","reportId":"r1","scopes":["read","export"],"readOnly":true,"cloud":true,"url":"https://cloud.example/r1","status":"generated-active","createdAt":"2030-01-02T03:04:05Z","expiresAt":"2030-01-02T04:04:05Z","generatedAt":"2030-01-02T03:05:05Z","lastUsedAt":"2030-01-02T03:06:05.123Z","createdBy":"issuer-1","tokenHint":"abc123","jti":"019d-jti","sealed":"c2VhbGVkLWJ5dGVz"}`
	legacyRecordMin  = `{"id":"rec-2","type":"api","name":"n","owner":"bob","scopes":[],"readOnly":false,"cloud":false,"status":"not-generated","createdAt":"2030-01-02T03:04:05Z","expiresAt":null,"generatedAt":null,"lastUsedAt":null,"createdBy":"admin"}`
	legacyClientFull = `{"id":"c1","name":"Sales","role":"issuer","resources":["dashboard:sales"],"scopes":["read"],"maxTokenExpiry":3600,"secretHash":"AQID","createdAt":"2030-01-02T03:04:05Z","secretRotatedAt":"2030-01-02T03:05:05Z"}`
	legacyClientMin  = `{"id":"c1","name":"Sales","role":"issuer","resources":["dashboard:sales"],"scopes":null,"maxTokenExpiry":3600,"secretHash":"AQID","createdAt":"2030-01-02T03:04:05Z"}`
	legacyLogEntry   = `{"activity":"AUTHENTICATE","at":"2030-01-02T03:06:05.123Z","by":"c1","result":"OK"}`
)

var (
	fmtT0    = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	fmtExp   = fmtT0.Add(time.Hour)
	fmtGen   = fmtT0.Add(time.Minute)
	fmtUsed  = fmtT0.Add(2*time.Minute + 123*time.Millisecond)
	fullRec  = registry.Record{ID: "rec-1", Type: "report", Name: "sales board", Owner: "alice", ReportID: "r1", Scopes: []string{"read", "export"}, ReadOnly: true, Cloud: true, URL: "https://cloud.example/r1", Status: registry.StatusGeneratedActive, CreatedAt: fmtT0, ExpiresAt: &fmtExp, GeneratedAt: &fmtGen, LastUsedAt: &fmtUsed, CreatedBy: "issuer-1", TokenHint: "abc123", JTI: "019d-jti", Sealed: []byte("sealed-bytes")}
	minRec   = registry.Record{ID: "rec-2", Type: "api", Name: "n", Owner: "bob", Scopes: []string{}, Status: registry.StatusNotGenerated, CreatedAt: fmtT0, CreatedBy: "admin"}
	fullCl   = clients.Client{ID: "c1", Name: "Sales", Role: "issuer", Resources: []string{"dashboard:sales"}, Scopes: []string{"read"}, MaxTokenExpiry: 3600, SecretHash: []byte{1, 2, 3}, CreatedAt: fmtT0, SecretRotatedAt: fmtGen}
	minCl    = clients.Client{ID: "c1", Name: "Sales", Role: "issuer", Resources: []string{"dashboard:sales"}, MaxTokenExpiry: 3600, SecretHash: []byte{1, 2, 3}, CreatedAt: fmtT0}
	logEntry = registry.LogEntry{Activity: registry.ActivityAuthenticate, At: fmtUsed, By: "c1", Result: registry.ResultOK}
)

func TestDecodeRecord_legacy(t *testing.T) {
	for name, tc := range map[string]struct {
		stored string
		want   registry.Record
	}{"Full": {legacyRecordFull, fullRec}, "Minimal": {legacyRecordMin, minRec}} {
		t.Run(name, func(t *testing.T) {
			got, err := decodeRecord("test", []byte(tc.stored))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDecodeClient_legacy(t *testing.T) {
	for name, tc := range map[string]struct {
		stored string
		want   clients.Client
	}{"Full": {legacyClientFull, fullCl}, "Minimal": {legacyClientMin, minCl}} {
		t.Run(name, func(t *testing.T) {
			got, err := decodeClient("test", []byte(tc.stored))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDecodeLogEntry_legacy(t *testing.T) {
	got, err := decodeLogEntry([]byte(legacyLogEntry))
	require.NoError(t, err)
	assert.Equal(t, logEntry, got)
}

// A record as version 1 wrote it (the legacy fields plus "v":1), which
// Redis instances of the sigil before issue 14 hold.
var v1RecordFull = `{"v":1,` + legacyRecordFull[1:]

// revokedRec has the fields version 2 added: an expiry preset and a
// revocation time.
var (
	fmtRevoked = fmtT0.Add(30 * time.Minute)
	revokedRec = registry.Record{ID: "rec-3", Type: "api", Name: "ci", Owner: "bob", Scopes: []string{"meta:read"}, Status: registry.StatusRevoked, CreatedAt: fmtT0, ExpiresAt: &fmtExp, ExpiresIn: "7d", RevokedAt: &fmtRevoked, GeneratedAt: &fmtGen, CreatedBy: "admin", TokenHint: "xyz789", JTI: "019e-jti"}
)

const v2RecordRevoked = `{"v":2,"id":"rec-3","type":"api","name":"ci","owner":"bob","scopes":["meta:read"],"readOnly":false,"cloud":false,"status":"revoked","createdAt":"2030-01-02T03:04:05Z","expiresAt":"2030-01-02T04:04:05Z","expiresIn":"7d","revokedAt":"2030-01-02T03:34:05Z","generatedAt":"2030-01-02T03:05:05Z","lastUsedAt":null,"createdBy":"admin","tokenHint":"xyz789","jti":"019e-jti"}`

func TestDecodeRecord_v1(t *testing.T) {
	got, err := decodeRecord("test", []byte(v1RecordFull))
	require.NoError(t, err)
	assert.Equal(t, fullRec, got)
}

// TestEncode pins what this code writes: records as version 2 (version
// 1's fields plus expiresIn and revokedAt, both omitted when empty),
// clients and log entries as version 1 (the legacy fields, same names,
// plus "v":1). A change here is a new format version (see format.go).
func TestEncode(t *testing.T) {
	b, err := encodeRecord(fullRec)
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":2,`+legacyRecordFull[1:], string(b))
	b, err = encodeRecord(minRec)
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":2,`+legacyRecordMin[1:], string(b))
	b, err = encodeRecord(revokedRec)
	require.NoError(t, err)
	assert.JSONEq(t, v2RecordRevoked, string(b))
	got, err := decodeRecord("test", []byte(v2RecordRevoked))
	require.NoError(t, err)
	assert.Equal(t, revokedRec, got)
	b, err = encodeClient(fullCl)
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":1,`+legacyClientFull[1:], string(b))
	b, err = encodeClient(minCl)
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":1,`+legacyClientMin[1:], string(b))
	b, err = encodeLogEntry(logEntry)
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":1,`+legacyLogEntry[1:], string(b))
}

func TestFormat_roundTrip(t *testing.T) {
	for _, r := range []registry.Record{fullRec, minRec, revokedRec} {
		b, err := encodeRecord(r)
		require.NoError(t, err)
		got, err := decodeRecord("test", b)
		require.NoError(t, err)
		assert.Equal(t, r, got)
	}
	for _, c := range []clients.Client{fullCl, minCl} {
		b, err := encodeClient(c)
		require.NoError(t, err)
		got, err := decodeClient("test", b)
		require.NoError(t, err)
		assert.Equal(t, c, got)
	}
	b, err := encodeLogEntry(logEntry)
	require.NoError(t, err)
	got, err := decodeLogEntry(b)
	require.NoError(t, err)
	assert.Equal(t, logEntry, got)
}

// TestDecode_ErrNewerVersion: a value of a version this binary does not know
// is an error, never a partial read.
func TestDecode_ErrNewerVersion(t *testing.T) {
	_, err := decodeRecord("get record", []byte(`{"v":3,"id":"rec-1"}`))
	assert.ErrorContains(t, err, "version 3")
	_, err = decodeClient("get client", []byte(`{"v":2,"id":"c1"}`))
	assert.ErrorContains(t, err, "version 2")
	_, err = decodeLogEntry([]byte(`{"v":2,"activity":"CREATE"}`))
	assert.ErrorContains(t, err, "version 2")
}

// TestStore_legacyValues reads values written before versioning through the
// store's own methods, as a Redis left by an older sigil holds them, and
// checks that a write rewrites them as the current version (records 2,
// clients 1).
func TestStore_legacyValues(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.Start(t)
	raw := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = raw.Close() })
	s := New(raw, "old:", WithNow(func() time.Time { return fmtT0 }))

	require.NoError(t, s.CreateRecord(ctx, fullRec), "the indices and name claim")
	require.NoError(t, raw.Set(ctx, "old:rec:rec-1", legacyRecordFull, 0).Err())
	require.NoError(t, raw.Set(ctx, "old:client:c1", legacyClientFull, 0).Err())
	require.NoError(t, raw.SAdd(ctx, "old:clients", "c1").Err())
	require.NoError(t, raw.ZAdd(ctx, "old:reclogs:rec-1", goredis.Z{
		Score: float64(fmtUsed.UnixMilli()), Member: logMember(1, []byte(legacyLogEntry)),
	}).Err())

	r, err := s.GetRecord(ctx, "rec-1")
	require.NoError(t, err)
	assert.Equal(t, fullRec, r)
	page, _, err := s.ListRecords(ctx, registry.Filter{Owner: "alice"})
	require.NoError(t, err)
	assert.Equal(t, []registry.Record{fullRec}, page)
	c, err := s.GetClient(ctx, "c1")
	require.NoError(t, err)
	assert.Equal(t, fullCl, c)
	cs, err := s.ListClients(ctx)
	require.NoError(t, err)
	assert.Equal(t, []clients.Client{fullCl}, cs)
	logs, _, err := s.ListLogs(ctx, "rec-1", 10, "")
	require.NoError(t, err)
	assert.Equal(t, []registry.LogEntry{logEntry}, logs)

	later := fmtUsed.Add(time.Minute)
	require.NoError(t, s.MarkUsed(ctx, []registry.Use{{RecordID: "rec-1", At: later}}))
	require.NoError(t, s.UpdateClient(ctx, fullCl))
	for k, v := range map[string]string{"old:rec:rec-1": `{"v":2,`, "old:client:c1": `{"v":1,`} {
		b, err := raw.Get(ctx, k).Result()
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(b, v), "%s rewritten as %s: %s", k, v, b)
	}
	r, err = s.GetRecord(ctx, "rec-1")
	require.NoError(t, err)
	assert.Equal(t, later, *r.LastUsedAt)
	assert.Equal(t, fullRec.JTI, r.JTI)
	assert.Equal(t, fullRec.Sealed, r.Sealed)
}

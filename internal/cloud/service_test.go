package cloud_test

import (
	"context"
	"errors"
	"path"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sigil-dev/sigil/internal/apperr"
	"github.com/sigil-dev/sigil/internal/cloud"
	"github.com/sigil-dev/sigil/internal/registry"
)

// fakeLocal is a local registry built from function fields; a nil field is never called.
type fakeLocal struct {
	delete func(id string) error
	list   func(reportID string) ([]registry.Record, error)
}

func (f fakeLocal) Delete(_ context.Context, _ registry.Caller, id string) error { return f.delete(id) }
func (f fakeLocal) ListForReport(_ context.Context, _ registry.Caller, reportID string) ([]registry.Record, error) {
	return f.list(reportID)
}

// fakeRemote is a cloud deployment built from function fields; calls counts every call.
type fakeRemote struct {
	calls   *atomic.Int32
	publish func(reportID string, rotate bool) (registry.Record, bool, error)
	list    func(reportID string) ([]registry.Record, error)
	get     func(id string) (registry.Record, error)
	del     func(id string) error
}

func (f fakeRemote) Publish(_ context.Context, reportID string, rotate bool) (registry.Record, bool, error) {
	f.calls.Add(1)
	return f.publish(reportID, rotate)
}
func (f fakeRemote) ReportTokens(_ context.Context, reportID string) ([]registry.Record, error) {
	f.calls.Add(1)
	return f.list(reportID)
}
func (f fakeRemote) Get(_ context.Context, id string) (registry.Record, error) {
	f.calls.Add(1)
	return f.get(id)
}
func (f fakeRemote) Delete(_ context.Context, id string) error {
	f.calls.Add(1)
	return f.del(id)
}

// issuer is a caller allowed the resources matching patterns.
func issuer(id string, patterns ...string) registry.Caller {
	return registry.Caller{ID: id, Allows: func(res string) bool {
		for _, p := range patterns {
			if ok, _ := path.Match(p, res); ok {
				return true
			}
		}
		return false
	}}
}

var (
	admin = registry.Caller{ID: "admin", Admin: true}
	q3    = issuer("informer", "report:q3")
	rival = issuer("rival", "report:other")
)

func notFoundErr() error {
	return &apperr.Error{Code: apperr.CodeNotFound, Message: "token not found", Err: registry.ErrNotFound}
}

func requireCode(t *testing.T, err error, code, field string) {
	t.Helper()
	e, ok := apperr.As(err)
	require.True(t, ok, "%v is not an *apperr.Error", err)
	require.Equal(t, code, e.Code, e.Message)
	require.Equal(t, field, e.Field)
}

func newService(t *testing.T, local cloud.Local, remote cloud.Remote) *cloud.Service {
	t.Helper()
	svc, err := cloud.NewService(cloud.ServiceConfig{Local: local, Remote: remote})
	require.NoError(t, err)
	return svc
}

func TestNewService_ErrNoLocal(t *testing.T) {
	_, err := cloud.NewService(cloud.ServiceConfig{})
	require.Error(t, err)
}

func TestService_Publish(t *testing.T) {
	pub := registry.Record{ID: "c1", Type: "report", ReportID: "q3", Cloud: true}
	newRemote := func(calls *atomic.Int32) fakeRemote {
		return fakeRemote{calls: calls, publish: func(reportID string, rotate bool) (registry.Record, bool, error) {
			require.Equal(t, "q3", reportID)
			return pub, !rotate, nil
		}}
	}
	t.Run("OK", func(t *testing.T) {
		var calls atomic.Int32
		svc := newService(t, fakeLocal{}, newRemote(&calls))
		for _, c := range []registry.Caller{q3, admin} {
			rec, created, err := svc.Publish(context.Background(), c, "q3", false)
			require.NoError(t, err)
			require.True(t, created)
			require.Equal(t, pub, rec)
		}
		_, created, err := svc.Publish(context.Background(), q3, "q3", true)
		require.NoError(t, err)
		require.False(t, created, "rotate is handed on")
	})
	t.Run("ErrNotAllowed", func(t *testing.T) {
		var calls atomic.Int32
		svc := newService(t, fakeLocal{}, newRemote(&calls))
		for _, c := range []registry.Caller{rival, {ID: "nobody"}} {
			_, _, err := svc.Publish(context.Background(), c, "q3", false)
			requireCode(t, err, apperr.CodeNotFound, "")
		}
		require.Zero(t, calls.Load(), "the cloud is not asked for a report the caller may not act on")
	})
	t.Run("ErrBadReportID", func(t *testing.T) {
		var calls atomic.Int32
		svc := newService(t, fakeLocal{}, newRemote(&calls))
		for _, id := range []string{"", strings.Repeat("r", registry.MaxIDLen+1)} {
			_, _, err := svc.Publish(context.Background(), admin, id, false)
			requireCode(t, err, apperr.CodeInvalid, "id")
		}
		require.Zero(t, calls.Load())
	})
	t.Run("ErrNotConfigured", func(t *testing.T) {
		svc := newService(t, fakeLocal{}, nil)
		_, _, err := svc.Publish(context.Background(), q3, "q3", false)
		requireCode(t, err, apperr.CodeNotFound, "")
		require.Contains(t, err.Error(), "cloud publishing is not configured")
		// Access is judged first: the answer does not tell an outsider
		// whether publishing is on.
		_, _, err = svc.Publish(context.Background(), q3, "", false)
		requireCode(t, err, apperr.CodeInvalid, "id")
	})
	t.Run("ErrCloud", func(t *testing.T) {
		var calls atomic.Int32
		down := apperr.New(apperr.CodeUnavailable, "down")
		svc := newService(t, fakeLocal{}, fakeRemote{calls: &calls, publish: func(string, bool) (registry.Record, bool, error) {
			return registry.Record{}, false, down
		}})
		_, _, err := svc.Publish(context.Background(), q3, "q3", false)
		require.ErrorIs(t, err, down)
	})
}

func TestService_ReportTokens(t *testing.T) {
	local := []registry.Record{{ID: "l1", ReportID: "q3"}}
	remote := []registry.Record{{ID: "c1", ReportID: "q3", Cloud: true}}
	okLocal := fakeLocal{list: func(string) ([]registry.Record, error) { return local, nil }}
	okRemote := func(calls *atomic.Int32) fakeRemote {
		return fakeRemote{calls: calls, list: func(string) ([]registry.Record, error) { return remote, nil }}
	}
	t.Run("OK", func(t *testing.T) {
		var calls atomic.Int32
		ts, err := newService(t, okLocal, okRemote(&calls)).ReportTokens(context.Background(), q3, "q3")
		require.NoError(t, err)
		require.Equal(t, cloud.ReportTokens{Local: local, Cloud: remote}, ts)
	})
	t.Run("NotConfigured", func(t *testing.T) {
		ts, err := newService(t, okLocal, nil).ReportTokens(context.Background(), q3, "q3")
		require.NoError(t, err)
		require.Equal(t, cloud.ReportTokens{Local: local}, ts)
	})
	t.Run("NotAllowedLocalOnly", func(t *testing.T) {
		var calls atomic.Int32
		ts, err := newService(t, okLocal, okRemote(&calls)).ReportTokens(context.Background(), rival, "q3")
		require.NoError(t, err)
		require.Equal(t, cloud.ReportTokens{Local: local}, ts)
		require.Zero(t, calls.Load(), "the cloud is not asked for a report the caller may not act on")
	})
	t.Run("CloudFails", func(t *testing.T) {
		var calls atomic.Int32
		down := apperr.New(apperr.CodeUnavailable, "down")
		svc := newService(t, okLocal, fakeRemote{calls: &calls, list: func(string) ([]registry.Record, error) { return remote, down }})
		ts, err := svc.ReportTokens(context.Background(), q3, "q3")
		require.NoError(t, err, "the listing goes on without the cloud")
		require.Equal(t, local, ts.Local)
		require.Empty(t, ts.Cloud)
		require.ErrorIs(t, ts.CloudErr, down)
	})
	t.Run("ErrLocal", func(t *testing.T) {
		var calls atomic.Int32
		boom := errors.New("store down")
		svc := newService(t, fakeLocal{list: func(string) ([]registry.Record, error) { return nil, boom }}, okRemote(&calls))
		_, err := svc.ReportTokens(context.Background(), q3, "q3")
		require.ErrorIs(t, err, boom)
	})
}

func TestService_Delete(t *testing.T) {
	published := registry.Record{ID: "c1", Type: "report", ReportID: "q3", Cloud: true}
	missing := fakeLocal{delete: func(string) error { return registry.ErrNotFound }}
	newRemote := func(calls *atomic.Int32, deleted *[]string) fakeRemote {
		return fakeRemote{
			calls: calls,
			get: func(id string) (registry.Record, error) {
				if id == published.ID {
					return published, nil
				}
				return registry.Record{}, notFoundErr()
			},
			del: func(id string) error { *deleted = append(*deleted, id); return nil },
		}
	}
	t.Run("OKLocal", func(t *testing.T) {
		var calls atomic.Int32
		var deleted []string
		svc := newService(t, fakeLocal{delete: func(string) error { return nil }}, newRemote(&calls, &deleted))
		require.NoError(t, svc.Delete(context.Background(), q3, "l1"))
		require.Zero(t, calls.Load(), "a local record never reaches the cloud")
	})
	t.Run("OKCloud", func(t *testing.T) {
		for _, c := range []registry.Caller{q3, admin} {
			var calls atomic.Int32
			var deleted []string
			svc := newService(t, missing, newRemote(&calls, &deleted))
			require.NoError(t, svc.Delete(context.Background(), c, "c1"))
			require.Equal(t, []string{"c1"}, deleted)
		}
	})
	t.Run("ErrCloudNotAllowed", func(t *testing.T) {
		var calls atomic.Int32
		var deleted []string
		svc := newService(t, missing, newRemote(&calls, &deleted))
		err := svc.Delete(context.Background(), rival, "c1")
		requireCode(t, err, apperr.CodeNotFound, "")
		require.ErrorIs(t, err, registry.ErrNotFound)
		require.Empty(t, deleted)
	})
	t.Run("ErrCloudNotFound", func(t *testing.T) {
		var calls atomic.Int32
		var deleted []string
		svc := newService(t, missing, newRemote(&calls, &deleted))
		requireCode(t, svc.Delete(context.Background(), q3, "nope"), apperr.CodeNotFound, "")
		require.Empty(t, deleted)
	})
	t.Run("ErrNotConfigured", func(t *testing.T) {
		svc := newService(t, missing, nil)
		require.ErrorIs(t, svc.Delete(context.Background(), q3, "c1"), registry.ErrNotFound)
	})
	t.Run("ErrNotACloudID", func(t *testing.T) {
		var calls atomic.Int32
		var deleted []string
		svc := newService(t, missing, newRemote(&calls, &deleted))
		for _, id := range []string{"", "a\x00b", strings.Repeat("x", registry.MaxIDLen+1)} {
			require.ErrorIs(t, svc.Delete(context.Background(), admin, id), registry.ErrNotFound)
		}
		require.Zero(t, calls.Load(), "ids the registry could not have made are not sent to the cloud")
	})
	t.Run("ErrLocalOtherThanNotFound", func(t *testing.T) {
		var calls atomic.Int32
		var deleted []string
		down := apperr.Wrap(apperr.CodeUnavailable, "store down", apperr.ErrStoreUnavailable)
		svc := newService(t, fakeLocal{delete: func(string) error { return down }}, newRemote(&calls, &deleted))
		require.ErrorIs(t, svc.Delete(context.Background(), admin, "c1"), down)
		require.Zero(t, calls.Load())
	})
}

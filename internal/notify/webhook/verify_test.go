package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// verifySignature checks a Standard Webhooks request against secret: an
// implementation of the scheme written from its specification, separate
// from the package's signing code. It returns the body when one of the
// space-separated v1 signatures matches.
func verifySignature(h http.Header, body []byte, secret string) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("missing webhook headers")
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		return fmt.Errorf("bad timestamp %q", ts)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("bad secret")
	}
	mac := hmac.New(sha256.New, key)
	_, _ = io.WriteString(mac, id+"."+ts+"."+string(body))
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no valid signature in %q", sigs)
}

// receiver is a real HTTP server that verifies every request's signature
// with the secrets it is given and answers with the status its script says.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	secrets  []string
	statuses []int // answers in order; 200 after the last
	hang     chan struct{}
	got      []received
	bad      []error
}

type received struct {
	id   string
	body []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		hang := r.hang
		secrets := append([]string(nil), r.secrets...)
		r.mu.Unlock()
		if hang != nil {
			// A receiver that never answers: a request that arrived while
			// hanging is never accepted, even once released.
			select {
			case <-hang:
			case <-req.Context().Done():
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var err error = fmt.Errorf("no secret")
		for _, s := range secrets {
			if err = verifySignature(req.Header, body, s); err == nil {
				break
			}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.bad = append(r.bad, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		if status/100 == 2 {
			r.got = append(r.got, received{id: req.Header.Get("webhook-id"), body: body})
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(func() {
		r.mu.Lock()
		if r.hang != nil {
			close(r.hang)
			r.hang = nil
		}
		r.mu.Unlock()
		r.Close()
	})
	return r
}

func (r *receiver) setSecrets(s ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = s
}

func (r *receiver) answer(statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = statuses
}

func (r *receiver) setHang(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if on && r.hang == nil {
		r.hang = make(chan struct{})
	}
	if !on && r.hang != nil {
		close(r.hang)
		r.hang = nil
	}
}

// delivered returns the ids of the events accepted (2xx), and the
// signature failures.
func (r *receiver) delivered() ([]string, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, len(r.got))
	for i, g := range r.got {
		ids[i] = g.id
	}
	return ids, append([]error(nil), r.bad...)
}

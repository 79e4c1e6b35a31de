package webhook_test

import (
	"testing"

	"github.com/sigil-dev/sigil/test/webhookrecv"
)

// receiver is the real HTTP receiver of test/webhookrecv, which verifies
// every request's signature with its own implementation of the Standard
// Webhooks scheme (written from the specification, apart from this
// package's signing code), under the short names these tests use.
type receiver struct {
	*webhookrecv.Receiver
	URL string
}

func newReceiver(t *testing.T) *receiver {
	r := webhookrecv.Start(t)
	return &receiver{Receiver: r, URL: r.URL()}
}

func (r *receiver) setSecrets(s ...string) { r.SetSecrets(s...) }
func (r *receiver) answer(statuses ...int) { r.Answer(statuses...) }
func (r *receiver) setHang(on bool)        { r.Hang(on) }

// delivered returns the ids of the events accepted (2xx), and the
// requests refused for their signature.
func (r *receiver) delivered() ([]string, []error) {
	got := r.Delivered()
	ids := make([]string, len(got))
	for i, d := range got {
		ids[i] = d.ID
	}
	return ids, r.Bad()
}

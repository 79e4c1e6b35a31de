package verifier_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps is the dependency budget of a Go service that verifies sigil
// tokens with net/http: neither Echo (the echoverifier subpackage has the
// Echo middleware) nor sigil's stores, registry or client records.
func TestDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", "github.com/sigil-dev/sigil/pkg/verifier").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %d packages:\n%s", len(deps), out)
	}
	for _, dep := range deps {
		for _, banned := range []string{
			"github.com/labstack/echo",
			"github.com/sigil-dev/sigil/internal/store",
			"github.com/sigil-dev/sigil/internal/registry",
			"github.com/sigil-dev/sigil/internal/clients",
			"github.com/sigil-dev/sigil/internal/httpapi",
		} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") {
				t.Errorf("pkg/verifier depends on %s", dep)
			}
		}
	}
}

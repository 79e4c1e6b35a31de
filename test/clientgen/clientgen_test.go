package clientgen_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigil-dev/sigil/test/apiserver"
)

// The pinned generator versions; tools/go.mod and ts/package.json must agree.
const (
	oapiCodegenVersion       = "v2.8.2"
	openapiTypescriptVersion = "7.9.1"
)

// tools are where `make clientgen` installs the pinned generators.
type tools struct {
	oapiCodegen, openapiTS, tsc string
}

// findTools returns the installed tools; without them the test fails (a skipped check is no
// check), naming the make target that installs them.
func findTools(t *testing.T) tools {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "test", "clientgen", "ts", "node_modules", ".bin")
	tl := tools{
		oapiCodegen: filepath.Join(root, "bin", "oapi-codegen"),
		openapiTS:   filepath.Join(bin, "openapi-typescript"),
		tsc:         filepath.Join(bin, "tsc"),
	}
	for _, p := range []string{tl.oapiCodegen, tl.openapiTS, tl.tsc} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s is not installed: make clientgen-tools installs the pinned generators (make test does)", p)
		}
	}
	return tl
}

// TestGeneratedClientsCompile fetches /openapi.json from the real API, generates a Go client
// with oapi-codegen and TypeScript types with openapi-typescript, both at default settings, and
// compiles each together with a small program that uses them (testdata/go, testdata/ts).
func TestGeneratedClientsCompile(t *testing.T) {
	tl := findTools(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	srv := apiserver.Start(t) // serves openapi.MustJSON(), as sigil serve does
	resp, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d, %v", resp.StatusCode, err)
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "openapi.json")
	if err := os.WriteFile(spec, doc, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("oapi-codegen", func(t *testing.T) {
		if v := run(ctx, t, "", nil, tl.oapiCodegen, "-version"); !strings.Contains(v, oapiCodegenVersion) {
			t.Fatalf("bin/oapi-codegen is not %s (make clientgen rebuilds it): %s", oapiCodegenVersion, v)
		}
		mod := filepath.Join(dir, "go")
		copyDir(t, filepath.Join("testdata", "go"), mod)
		run(ctx, t, mod, nil, tl.oapiCodegen, "-generate", "types,client", "-package", "sigilclient",
			"-o", filepath.Join(mod, "client.go"), spec)
		// A module of its own, outside sigil's; -mod=mod lets the build add what a newer
		// generator imports beyond the pinned runtime.
		env := []string{"GOWORK=off", "GOFLAGS=-mod=mod " + os.Getenv("GOFLAGS")}
		run(ctx, t, mod, env, goTool(), "build", "./...")
	})

	t.Run("openapi-typescript", func(t *testing.T) {
		if v := run(ctx, t, "", nil, tl.openapiTS, "--version"); !strings.Contains(v, openapiTypescriptVersion) {
			t.Fatalf("openapi-typescript is not %s (make clientgen reinstalls it): %s", openapiTypescriptVersion, v)
		}
		ts := filepath.Join(dir, "ts")
		copyDir(t, filepath.Join("testdata", "ts"), ts)
		run(ctx, t, ts, nil, tl.openapiTS, spec, "-o", filepath.Join(ts, "schema.d.ts"))
		run(ctx, t, ts, nil, tl.tsc, "--strict", "--noEmit", "--target", "es2022", "--module", "esnext",
			"--moduleResolution", "bundler", "use.ts", "schema.d.ts")
	})
}

// run runs name with args in dir and returns its combined output; a failure ends the test with it.
func run(ctx context.Context, t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	t.Logf("%s %s (%s)", filepath.Base(name), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return string(out)
}

// goTool is the go command running this test.
func goTool() string {
	if p := filepath.Join(os.Getenv("GOROOT"), "bin", "go"); os.Getenv("GOROOT") != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

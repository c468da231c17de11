package tetrate

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/llmproxy/llmproxy/internal/fixture"
)

// tinygoAcceptsGo is the range of Go minor versions each TinyGo release
// builds with (minorMin, minorMax in builder/config.go at its tag).
var tinygoAcceptsGo = map[string][2]int{
	"0.40.1": {19, 25},
	"0.41.0": {19, 26},
	"0.41.1": {19, 26},
	"0.42.0": {25, 27},
}

// TinyGo is not here to refuse the build, so the pin is checked against the
// module: the Makefile's image must accept the go line, build as a command
// whose _start returns (wasi-legacy, which needs -scheduler=none), and be
// the one docs/tinygo.md names.
func TestTinyGoPinFitsTheModule(t *testing.T) {
	_, read := repoFiles(t)
	goLine := regexp.MustCompile(`(?m)^go 1\.(\d+)`).FindStringSubmatch(read("go.mod"))
	makefile := read("Makefile")
	image := regexp.MustCompile(`(?m)^TINYGO_IMAGE \?= (\S+:(\S+))$`).FindStringSubmatch(makefile)
	if goLine == nil || image == nil {
		t.Fatalf("go line %q, TINYGO_IMAGE %q", goLine, image)
	}
	minor, _ := strconv.Atoi(goLine[1])
	accepts, ok := tinygoAcceptsGo[image[2]]
	if !ok {
		t.Fatalf("TinyGo %s: add its Go range from builder/config.go", image[2])
	}
	if minor < accepts[0] || minor > accepts[1] {
		t.Fatalf("TinyGo %s accepts Go 1.%d to 1.%d; go.mod says 1.%d", image[2], accepts[0], accepts[1], minor)
	}
	build := regexp.MustCompile(`(?m)^build-tinygo: TINYGO_BUILD = (.*)$`).FindStringSubmatch(makefile)
	if build == nil {
		t.Fatal("no TINYGO_BUILD for build-tinygo in the Makefile")
	}
	for _, flag := range []string{"-buildmode=wasi-legacy", "-scheduler=none", "-target=wasip1"} {
		if !strings.Contains(build[1]+" ", " "+flag+" ") {
			t.Errorf("build-tinygo runs %q, without %s", build[1], flag)
		}
	}
	if !strings.Contains(read("docs/tinygo.md"), image[1]) {
		t.Errorf("docs/tinygo.md does not name %s", image[1])
	}
}

// tinygoImageGo is the Go each TinyGo image carries (tinygo-org/docker,
// Dockerfile GO_RELEASE at the tag).
var tinygoImageGo = map[string]string{"0.40.1": "1.25.5", "0.41.0": "1.26.2", "0.41.1": "1.26.2"}

// TestTinyGoModFile: TinyGo builds the plugin with tinygo.mod, whose go
// line the Go inside the image must accept under GOTOOLCHAIN=local (a
// newer patch is refused, and go.mod's follows the test tools'
// dependencies), which names the SDK at go.mod's version, and with which
// the plugin's whole import graph resolves for TinyGo's tags.
func TestTinyGoModFile(t *testing.T) {
	root, read := repoFiles(t)
	makefile := read("Makefile")
	image := regexp.MustCompile(`(?m)^TINYGO_IMAGE \?= \S+:(\S+)$`).FindStringSubmatch(makefile)
	if image == nil {
		t.Fatal("no TINYGO_IMAGE")
	}
	imageGo, ok := tinygoImageGo[image[1]]
	if !ok {
		t.Fatalf("TinyGo %s: add the Go its image carries", image[1])
	}
	mod := read("tinygo.mod")
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(mod)
	if goLine == nil || versionAfter(goLine[1], imageGo) {
		t.Fatalf("tinygo.mod go line %v: the image's Go %s refuses it", goLine, imageGo)
	}
	sdk := regexp.MustCompile(`github.com/tetratelabs/proxy-wasm-go-sdk (v\S+)`)
	if a, b := sdk.FindStringSubmatch(mod), sdk.FindStringSubmatch(read("go.mod")); a == nil || b == nil || a[1] != b[1] {
		t.Fatalf("SDK in tinygo.mod %v, in go.mod %v", a, b)
	}
	if strings.Count(makefile, "GOFLAGS=-modfile=tinygo.mod") != 2 {
		t.Fatal("build-tinygo does not use tinygo.mod both in the image and with a local tinygo")
	}
	cmd := exec.Command("go", "list", "-tags", "tinygo", "-deps", "./plugin")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-modfile=tinygo.mod", "GOOS=wasip1", "GOARCH=wasm", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "proxy-wasm-go-sdk/proxywasm\n") {
		t.Fatalf("go list with tinygo.mod: %v\n%s", err, out)
	}
}

// versionAfter reports whether Go version a is newer than b ("1.26.7").
func versionAfter(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		x, y := 0, 0
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x > y
		}
	}
	return false
}

// repoFiles is the repository root and a reader of the files under it.
func repoFiles(t *testing.T) (string, func(name string) string) {
	t.Helper()
	root, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root, func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

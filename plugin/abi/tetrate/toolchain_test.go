package tetrate

import (
	"os"
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
	root, err := fixture.Root()
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
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

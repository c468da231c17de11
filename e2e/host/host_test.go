package host

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var (
	guest021, guest020 *Module // compiled once for every test
)

// TestMain builds the test guest for wasip1 in two ABI flavours.
func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "e2e-host-guest")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	build := func(name string, tags string) (*Module, error) {
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-tags="+tags, "-o", out, "./testdata/guest")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %v\n%s", name, err, b)
		}
		wasm, err := os.ReadFile(out)
		if err != nil {
			return nil, err
		}
		return Compile(ctx, wasm)
	}
	if guest021, err = build("guest021.wasm", ""); err != nil {
		return 0, err
	}
	if guest020, err = build("guest020.wasm", "abi020"); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

func newHost(t *testing.T, cfg string, opts Options) *Host {
	t.Helper()
	opts.PluginConfig = []byte(cfg)
	h, err := New(context.Background(), guest021, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", cfg, err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func chatExchange(reqBody string, respChunks ...string) Exchange {
	ex := Exchange{
		ClusterName: "outbound|443||dashscope.aliyuncs.com",
		RequestHeaders: [][2]string{{":method", "POST"}, {":path", "/v1/chat?x=1"},
			{":authority", "dashscope.aliyuncs.com"}, {":scheme", "https"}, {"Content-Type", "application/json"}},
		ResponseHeaders: [][2]string{{":status", "200"}, {"content-type", "application/json"}},
	}
	if reqBody != "" {
		for _, c := range strings.Split(reqBody, "|") {
			ex.RequestBody = append(ex.RequestBody, []byte(c))
		}
	}
	for _, c := range respChunks {
		ex.ResponseBody = append(ex.ResponseBody, []byte(c))
	}
	return ex
}

func do(t *testing.T, h *Host, ex Exchange) *Result {
	t.Helper()
	res, err := h.Do(context.Background(), ex)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	return res
}

func logText(lines []LogLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Message + "\n")
	}
	return b.String()
}

func wantLogs(t *testing.T, lines []LogLine, want ...string) {
	t.Helper()
	text := logText(lines)
	for _, w := range want {
		if !strings.Contains(text, w+"\n") {
			t.Errorf("log %q missing; logs:\n%s", w, text)
		}
	}
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error containing %q, got nil", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", trimTrace(err), p)
		}
	}
}

func TestHostCallDuringInitializeFailsStartup(t *testing.T) {
	_, err := New(context.Background(), guest021, Options{Env: map[string]string{"GUEST_MODE": "hostcall-in-init"}})
	wantErr(t, err, "env.proxy_get_property", "_initialize")
}

func TestGetLogLevelNeedsABI021(t *testing.T) {
	_, err := New(context.Background(), guest020, Options{PluginConfig: []byte("x")})
	wantErr(t, err, "proxy_get_log_level")
	lvl := 1
	wantLogs(t, newHost(t, "loglevel", Options{LogLevel: &lvl}).Logs(), "level=1")
	wantLogs(t, newHost(t, "loglevel", Options{}).Logs(), "level=2")
}

func TestModuleWithoutABIMarker(t *testing.T) {
	m, err := Compile(context.Background(), []byte("\x00asm\x01\x00\x00\x00"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(context.Background(), m, Options{})
	wantErr(t, err, "proxy_abi_version")
}

func TestRefusedConfiguration(t *testing.T) {
	var printed []LogLine
	_, err := New(context.Background(), guest021, Options{PluginConfig: []byte("refuse"),
		PluginLog: func(l LogLine) { printed = append(printed, l) }})
	// The error says why, as the plugin logged it, and the line was
	// printed as it was written.
	wantErr(t, err, "plugin refused configuration", `: guest: configuration mode "refuse" refuses`)
	if len(printed) != 1 || printed[0].Level != "error" {
		t.Errorf("PluginLog got %v", printed)
	}
}

func TestUnimplementedImportsAreStubs(t *testing.T) {
	wantLogs(t, newHost(t, "httpcall", Options{}).Logs(), "http_call=12")
}

// TestWASIAsCppHost: WASI answers as proxy-wasm-cpp-host's src/exports.cc
// gives them; poll_oneoff as before cpp-host #533 (Envoy <= 1.38) by
// default, as after it on request, and as wazero only with FullWASI.
func TestWASIAsCppHost(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"envoy<=1.38", Options{}, "set_flags=52 fdstat0=8 fdstat1=0 rights=64 poll=52 nevents=99"},
		{"envoy 1.39", Options{PollOneoff: PollOneoffNoEvents}, "set_flags=52 fdstat0=8 fdstat1=0 rights=64 poll=0 nevents=0"},
		{"wazero", Options{FullWASI: true, PollOneoff: PollOneoffSleep}, "set_flags=52 fdstat0=0 fdstat1=0 rights=255 poll=0 nevents=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := newHost(t, "wasi", tc.opts).Logs()
			if len(logs) != 1 || !strings.HasPrefix(logs[0].Message, tc.want) {
				t.Fatalf("logs %v, want %q", logs, tc.want)
			}
		})
	}
}

func TestHostCallInsideAllocatorKillsVM(t *testing.T) {
	h := newHost(t, "poll-in-alloc,echo-body", Options{})
	_, err := h.Do(context.Background(), chatExchange("{}"))
	wantErr(t, err, "poll_oneoff", "proxy_on_memory_allocate")
	if v := h.Violations(); len(v) != 1 || !strings.Contains(v[0], "poll_oneoff") {
		t.Errorf("violations = %v", v)
	}
	_, err = h.Do(context.Background(), chatExchange("{}"))
	wantErr(t, err, "VM is dead")
}

func TestTrapKillsVM(t *testing.T) {
	h := newHost(t, "panic", Options{})
	_, err := h.Do(context.Background(), chatExchange("{}"))
	wantErr(t, err, "proxy_on_request_body")
	_, err = h.Do(context.Background(), chatExchange("{}"))
	wantErr(t, err, "VM is dead")
}

func TestManyHostsShareCompilation(t *testing.T) {
	for i := 0; i < 3; i++ {
		h := newHost(t, "echo-body", Options{})
		if h.MemoryPages() == 0 {
			t.Fatal("no guest memory")
		}
	}
	imports := strings.Join(guest021.Imports(), " ")
	if !strings.Contains(imports, "env.proxy_log") || guest021.ABIVersion() != "proxy_abi_version_0_2_1" {
		t.Errorf("imports %s abi %s", imports, guest021.ABIVersion())
	}
}

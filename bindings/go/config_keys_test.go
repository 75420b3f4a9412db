package ycbg

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// repoFile is <repo>/<rel> (this file is <repo>/bindings/go/config_keys_test.go).
func repoFile(t testing.TB, rel string) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source to find the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", rel)
}

func readHeader(t testing.TB) string {
	b, err := os.ReadFile(repoFile(t, "include/ycbg.h"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// headerConfigKeys reads the config_json table in the comment of yc_client_new.
func headerConfigKeys(t testing.TB) []string {
	parts := strings.SplitN(readHeader(t), "config_json: NULL", 2)
	if len(parts) != 2 {
		t.Fatal("no config table in ycbg.h")
	}
	blocks := strings.SplitN(parts[1], "\n *\n", 3)
	if len(blocks) < 3 {
		t.Fatal("no config table in ycbg.h")
	}
	re := regexp.MustCompile(`(?m)^ \*   ([a-z_]+) +(?:string|integer|number|bool|object)\b`)
	var keys []string
	for _, m := range re.FindAllStringSubmatch(blocks[1], -1) {
		keys = append(keys, m[1])
	}
	if len(keys) < 16 {
		t.Fatalf("the header's config table was not read: %v", keys)
	}
	return keys
}

// Every key of the header's config table is a typed field of Config.
func TestConfigHasEveryHeaderKey(t *testing.T) {
	fields := map[string]bool{}
	ct := reflect.TypeOf(Config{})
	for i := 0; i < ct.NumField(); i++ {
		fields[strings.Split(ct.Field(i).Tag.Get("json"), ",")[0]] = true
	}
	var missing []string
	for _, k := range headerConfigKeys(t) {
		if !fields[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("ycbg.Config has no field for %v", missing)
	}
}

// The package's version is the header's (YCBG_VERSION_*) and the library's.
func TestVersionMatchesHeader(t *testing.T) {
	h := readHeader(t)
	var parts []string
	for _, name := range []string{"MAJOR", "MINOR", "PATCH"} {
		m := regexp.MustCompile(`(?m)^#define YCBG_VERSION_` + name + ` +(\d+)`).FindStringSubmatch(h)
		if m == nil {
			t.Fatalf("no YCBG_VERSION_%s in ycbg.h", name)
		}
		parts = append(parts, m[1])
	}
	want := strings.Join(parts, ".")
	if BindingVersion != want || Version() != want {
		t.Fatalf("BindingVersion %q, library %q, header %q: they must agree", BindingVersion, Version(), want)
	}
	if err := CheckVersion(); err != nil {
		t.Fatal(err)
	}
}

func TestMillis(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int
	}{{0, 0}, {time.Nanosecond, 1}, {1500 * time.Microsecond, 2}, {250 * time.Millisecond, 250}, {2 * time.Second, 2000}} {
		if got := *Millis(c.d); got != c.want {
			t.Errorf("Millis(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}

// TrustIdempotencyKey, the 0.2 engine keys and Millis values are accepted
// by the library.
func TestTypedConfigAccepted(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 20, 30)
	c := emu.client(func(cfg *Config) {
		cfg.TrustIdempotencyKey = Bool(true)
		cfg.PollIntervalMS = Millis(20 * time.Millisecond)
		cfg.MaxPollIntervalMS = Millis(100 * time.Millisecond)
		cfg.HTTPVersion = String("1.1")
		cfg.MaxInFlight = Int(8)
		cfg.MaxCreatesPerSecond = Float(50.5)
		cfg.MaxPollsPerSecond = Float(100)
		cfg.TaskTimeoutMS = Int(60000)
	})
	defer c.Close()
	task, err := c.Create(testModel, "typed")
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	if st, err := task.Wait(ctxTimeout(t, 30*time.Second)); err != nil || st != StatusCompleted {
		t.Fatalf("Wait = %v, %v", st, err)
	}
}

// Generated text may hold a NUL ("\u0000" in JSON): OutputText returns all
// of it, the same text as Result().OutputText.
func TestOutputTextKeepsNUL(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 20, 30)
	c := emu.client()
	defer c.Close()
	task, err := c.Create(testModel, "before\x00after")
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	if st, err := task.Wait(ctxTimeout(t, 30*time.Second)); err != nil || st != StatusCompleted {
		t.Fatalf("Wait = %v, %v", st, err)
	}
	want := "Echo: before\x00after"
	if got := mustText(t, task); got != want {
		t.Fatalf("OutputText = %q, want %q", got, want)
	}
	r, err := task.Result()
	if err != nil || r.OutputText != want {
		t.Fatalf("Result().OutputText = %q, %v", r.OutputText, err)
	}
}

func TestVersionCompatibilityRule(t *testing.T) {
	for _, c := range []struct {
		want, have string
		ok         bool
	}{
		{"0.1.0", "0.1.0", true},
		{"0.1.0", "0.2.3", true},  // a later minor only adds
		{"0.2.0", "0.1.9", false}, // older minor: functions missing
		{"0.1.0", "1.1.0", false}, // another major
		{"0.1.0", "", false},
		{"0.1.0", "x.y", false},
	} {
		if got := compatible(c.want, c.have); got != c.ok {
			t.Errorf("compatible(%q, %q) = %v, want %v", c.want, c.have, got, c.ok)
		}
	}
}

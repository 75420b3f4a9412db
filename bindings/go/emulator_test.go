package ycbg

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testAPIKey   = "test-key"
	testFolderID = "b1gtestfolder"
)

// emulatorBinary is $YC_EMULATOR, else <repo>/build/bin/yc-emulator.
func emulatorBinary(t testing.TB) string {
	if p := os.Getenv("YC_EMULATOR"); p != "" {
		return p
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source to find the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "build", "bin", "yc-emulator")
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// emulator is one yc-emulator process owned by a test.
type emulator struct {
	t       testing.TB
	BaseURL string // http://127.0.0.1:<port>/v1
	root    string // http://127.0.0.1:<port>
	http    *http.Client
}

// startEmulator runs yc-emulator on a free port with the given
// --queue-ms/--work-ms; t.Cleanup stops it.
func startEmulator(t testing.TB, queueMS, workMS int, extra ...string) *emulator {
	t.Helper()
	bin := emulatorBinary(t)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("yc-emulator not found at %s (set YC_EMULATOR): %v", bin, err)
	}
	args := append([]string{"--port", "0", "--exit-on-stdin-eof",
		"--queue-ms", strconv.Itoa(queueMS), "--work-ms", strconv.Itoa(workMS),
		"--api-key", testAPIKey}, extra...)
	cmd := exec.Command(bin, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = stdin.Close() // --exit-on-stdin-eof
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			if s := stderr.String(); s != "" {
				t.Logf("yc-emulator stderr:\n%s", s)
			}
		}
	})

	lineCh := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lineCh <- line
		_, _ = io.Copy(io.Discard, r) // never block the emulator on stdout
	}()
	var line string
	select {
	case line = <-lineCh:
	case <-time.After(20*time.Second + slack()):
		t.Fatalf("yc-emulator printed no listening line within 20 s + slack; stderr: %s", stderr.String())
	}
	const prefix = "yc-emulator listening on "
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("unexpected first line from yc-emulator: %q; stderr: %s", line, stderr.String())
	}
	base := strings.TrimPrefix(line, prefix)
	if !strings.HasPrefix(base, "http://") || !strings.HasSuffix(base, "/v1") {
		t.Fatalf("unexpected base URL %q", base)
	}
	e := &emulator{
		t:       t,
		BaseURL: base,
		root:    strings.TrimSuffix(base, "/v1"),
		http:    &http.Client{Timeout: 10 * time.Second},
	}
	t.Cleanup(e.http.CloseIdleConnections)
	return e
}

func (e *emulator) do(method, path string, body interface{}) []byte {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.root+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, out)
	}
	return out
}

// addFaults posts one fault object or an array of them.
func (e *emulator) addFaults(faults interface{}) {
	e.t.Helper()
	e.do("POST", "/_emulator/faults", faults)
}

func (e *emulator) settings(s map[string]interface{}) {
	e.t.Helper()
	e.do("POST", "/_emulator/settings", s)
}

type emuStats struct {
	Connections     int `json:"connections"`
	OpenConnections int `json:"open_connections"`
	Requests        struct {
		Create   int `json:"create"`
		Retrieve int `json:"retrieve"`
		Cancel   int `json:"cancel"`
		Delete   int `json:"delete"`
		Other    int `json:"other"`
	} `json:"requests"`
	Responses     int `json:"responses"`
	FaultsApplied int `json:"faults_applied"`
}

func (e *emulator) stats() emuStats {
	e.t.Helper()
	var s emuStats
	if err := json.Unmarshal(e.do("GET", "/_emulator/stats", nil), &s); err != nil {
		e.t.Fatalf("stats: %v", err)
	}
	return s
}

type recordedRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Fault   *string           `json:"fault"`
	Status  *int              `json:"status"`
}

func (e *emulator) requests(limit int) []recordedRequest {
	e.t.Helper()
	var rs []recordedRequest
	if err := json.Unmarshal(e.do("GET", fmt.Sprintf("/_emulator/requests?limit=%d", limit), nil), &rs); err != nil {
		e.t.Fatalf("requests: %v", err)
	}
	return rs
}

// config returns a client config for this emulator.
func (e *emulator) config() Config {
	return Config{
		BaseURL:           String(e.BaseURL),
		APIKey:            String(testAPIKey),
		FolderID:          String(testFolderID),
		PollIntervalMS:    Int(20),
		MaxPollIntervalMS: Int(100),
		TimeoutMS:         Int(10000),
		ConnectTimeoutMS:  Int(2000),
	}
}

// client makes a Client for this emulator; t.Cleanup closes it.
func (e *emulator) client(mod ...func(*Config)) *Client {
	e.t.Helper()
	cfg := e.config()
	for _, m := range mod {
		m(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		e.t.Fatalf("NewClient: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// asError asserts err is a *Error of the given kind and returns it.
func asError(t testing.TB, err error, kind ErrorKind) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("expected a *ycbg.Error of kind %q, got nil", kind)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("expected a *ycbg.Error of kind %q, got %T: %v", kind, err, err)
	}
	if e.Kind != kind {
		t.Fatalf("expected kind %q, got %q (%v)", kind, e.Kind, e)
	}
	if e.Message == "" {
		t.Fatalf("error of kind %q has an empty message", kind)
	}
	return e
}

package ycbg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testModel = "yandexgpt"

// slack is added to every wall-clock bound of these tests: YCBG_TIME_SLACK_MS
// (milliseconds, default 2500), the one slack every suite of ycbg reads.
func slack() time.Duration {
	if ms, err := strconv.Atoi(os.Getenv("YCBG_TIME_SLACK_MS")); err == nil && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return 2500 * time.Millisecond
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d+slack())
	t.Cleanup(cancel)
	return ctx
}

// longRequest is a request whose response stays in progress for a minute.
func longRequest(input string) string {
	b, _ := json.Marshal(map[string]interface{}{
		"model":    testModel,
		"input":    input,
		"metadata": map[string]string{"emulator_work_ms": "60000"},
	})
	return string(b)
}

func mustCreate(t testing.TB, c *Client, req string) *Task {
	t.Helper()
	task, err := c.CreateBackground(req)
	if err != nil {
		t.Fatalf("CreateBackground(%s): %v", req, err)
	}
	t.Cleanup(func() { task.Close() })
	return task
}

func mustText(t testing.TB, task *Task) string {
	t.Helper()
	s, err := task.OutputText()
	if err != nil {
		t.Fatalf("OutputText: %v", err)
	}
	return s
}

// ---------------------------------------------------------------------------
// Without a server

func TestVersion(t *testing.T) {
	v := Version()
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) {
		t.Fatalf("Version() = %q, want MAJOR.MINOR.PATCH", v)
	}
}

func TestStatus(t *testing.T) {
	for s := Status(-3); s <= 8; s++ {
		if got, want := s.String(), cStatusName(s); got != want {
			t.Errorf("Status(%d).String() = %q, yc_status_name = %q", int(s), got, want)
		}
	}
	terminal := map[Status]bool{StatusCompleted: true, StatusFailed: true, StatusCancelled: true, StatusIncomplete: true}
	for s := Status(-2); s <= 7; s++ {
		if s.IsTerminal() != terminal[s] {
			t.Errorf("Status(%d).IsTerminal() = %v", int(s), s.IsTerminal())
		}
	}
	for _, s := range []Status{StatusQueued, StatusInProgress, StatusCompleted, StatusFailed, StatusCancelled, StatusIncomplete, StatusError} {
		got, ok := ParseStatus(s.String())
		if !ok || got != s {
			t.Errorf("ParseStatus(%q) = %v, %v", s.String(), got, ok)
		}
	}
	if _, ok := ParseStatus("paused"); ok {
		t.Error(`ParseStatus("paused") reported ok`)
	}
	if StatusInProgress.String() != "in_progress" || fmt.Sprint(StatusCancelled) != "cancelled" {
		t.Error("unexpected status names")
	}
}

func TestConfigJSON(t *testing.T) {
	doc, err := Config{}.JSON()
	if err != nil || doc != "{}" {
		t.Fatalf("empty Config JSON = %q, %v; want {}", doc, err)
	}
	doc, err = Config{APIKey: String("k<&>"), MaxRetries: Int(0), DataLogging: Bool(false)}.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if doc != `{"api_key":"k<&>","max_retries":0,"data_logging":false}` {
		t.Fatalf("Config JSON = %s", doc)
	}
	full := Config{
		BaseURL: String("u"), APIKey: String("a"), IAMToken: String("i"), FolderID: String("f"),
		TimeoutMS: Int(1), ConnectTimeoutMS: Int(2), MaxRetries: Int(3), PollIntervalMS: Int(4),
		MaxPollIntervalMS: Int(5), DataLogging: Bool(true), UserAgent: String("ua"), CAFile: String("ca"),
		Headers: map[string]string{"X-A": "b"}, MaxResponseBytes: Int(6), AllowInsecureHTTP: Bool(true),
		TrustIdempotencyKey: Bool(true),
	}
	doc, err = full.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]interface{}
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := "allow_insecure_http api_key base_url ca_file connect_timeout_ms data_logging folder_id headers iam_token max_poll_interval_ms max_response_bytes max_retries poll_interval_ms timeout_ms trust_idempotency_key user_agent"
	if got := strings.Join(keys, " "); got != want {
		t.Fatalf("config keys:\n got %s\nwant %s", got, want)
	}
	if h, ok := m["headers"].(map[string]interface{}); !ok || h["X-A"] != "b" {
		t.Fatalf("headers = %#v", m["headers"])
	}
}

func TestErrorType(t *testing.T) {
	var e Error
	doc := `{"kind":"api","message":"nope","http_status":429,"code":"rate_limit_exceeded","request_id":"r-1","retryable":true}`
	if err := json.Unmarshal([]byte(doc), &e); err != nil {
		t.Fatal(err)
	}
	want := Error{Kind: KindAPI, Message: "nope", HTTPStatus: 429, Code: "rate_limit_exceeded", RequestID: "r-1", Retryable: true}
	if e != want {
		t.Fatalf("parsed %#v", e)
	}
	if s := e.Error(); s != "ycbg: api: nope (http 429, code rate_limit_exceeded, request_id r-1)" {
		t.Fatalf("Error() = %q", s)
	}
	if err := json.Unmarshal([]byte(`{"kind":"api","message":"m","code":16,"retryable":false}`), &e); err != nil || e.Code != "16" {
		t.Fatalf("numeric code: %v %#v", err, e)
	}
	var err error = fmt.Errorf("wrapped: %w", &Error{Kind: KindTimeout, Message: "slow"})
	if KindOf(err) != KindTimeout || KindOf(errors.New("x")) != "" {
		t.Fatal("KindOf")
	}
}

func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, doc string
		mention   string
	}{
		{"unknown key", `{"api_key":"k","base_url":"http://127.0.0.1:9/v1","bogus_key":1}`, "bogus_key"},
		{"wrong type", `{"api_key":"k","base_url":"http://127.0.0.1:9/v1","timeout_ms":"soon"}`, "timeout_ms"},
		{"both credentials", `{"api_key":"k","iam_token":"t","base_url":"http://127.0.0.1:9/v1"}`, ""},
		{"insecure http", `{"api_key":"k","base_url":"http://example.com/v1"}`, ""},
	}
	for _, tc := range cases {
		c, err := NewClientJSON(tc.doc)
		if c != nil {
			c.Close()
			t.Errorf("%s: NewClientJSON succeeded", tc.name)
			continue
		}
		e := asError(t, err, KindConfig)
		if tc.mention != "" && !strings.Contains(e.Message, tc.mention) {
			t.Errorf("%s: message %q does not name %q", tc.name, e.Message, tc.mention)
		}
		if e.Retryable {
			t.Errorf("%s: config error marked retryable", tc.name)
		}
	}
	// The same through the typed Config.
	_, err := NewClient(Config{APIKey: String("k"), IAMToken: String("t"), BaseURL: String("http://127.0.0.1:9/v1")})
	asError(t, err, KindConfig)

	// Not JSON at all.
	_, err = NewClientJSON(`{"api_key":`)
	if k := KindOf(err); k != KindInvalidJSON && k != KindConfig {
		t.Fatalf("unparsable config: kind %q (%v)", k, err)
	}
	// A NUL byte is refused by the binding before C sees a cut string.
	_, err = NewClientJSON("{\"api_key\":\"k\"}\x00garbage")
	asError(t, err, KindInvalidArgument)
}

// ---------------------------------------------------------------------------
// Against the emulator

func TestSeedWorkflow(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 50, 150)
	c := emu.client()
	input := "Write a haiku about background tasks — «фон»"
	task, err := c.Create(testModel, input)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer task.Close()
	if task.ID() == "" {
		t.Fatal("empty task id")
	}
	st, err := task.Wait(ctxTimeout(t, 30*time.Second))
	if err != nil || st != StatusCompleted {
		t.Fatalf("Wait = %v, %v; want completed", st, err)
	}
	if got, want := mustText(t, task), "Echo: "+input; got != want {
		t.Fatalf("OutputText = %q, want %q", got, want)
	}
	r, err := task.Result()
	if err != nil {
		t.Fatalf("Result: %v", err)
	}
	if r.ID != task.ID() || r.Status != StatusCompleted || r.OutputText != "Echo: "+input || r.Error != nil || r.Err() != nil {
		t.Fatalf("Result = %+v", r)
	}
	var usage struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
		TotalTokens  int `json:"total_tokens"`
	}
	if err := json.Unmarshal(r.Usage, &usage); err != nil || usage.OutputTokens <= 0 || usage.TotalTokens != usage.InputTokens+usage.OutputTokens {
		t.Fatalf("usage %s: %+v %v", r.Usage, usage, err)
	}
	var resp struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(r.Response, &resp); err != nil || resp.ID != task.ID() || resp.Status != "completed" {
		t.Fatalf("response %s: %+v %v", r.Response, resp, err)
	}
	// Terminal: Poll, Wait and Cancel make no request.
	before := emu.stats()
	for _, f := range []func() (Status, error){task.Poll, task.Cancel, func() (Status, error) { return task.Wait(context.Background()) }} {
		if st, err := f(); st != StatusCompleted || err != nil {
			t.Fatalf("on a completed task: %v, %v", st, err)
		}
	}
	after := emu.stats()
	if after.Requests != before.Requests {
		t.Fatalf("requests on a terminal task: before %+v after %+v", before.Requests, after.Requests)
	}
	if after.Requests.Create != 1 {
		t.Fatalf("%d creates, want 1", after.Requests.Create)
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	emu := startEmulator(t, 0, 0)
	t.Setenv("YC_BASE_URL", emu.BaseURL)
	t.Setenv("YC_API_KEY", testAPIKey)
	t.Setenv("YC_FOLDER_ID", testFolderID)
	t.Setenv("YC_IAM_TOKEN", "")
	os.Unsetenv("YC_IAM_TOKEN")
	for name, mk := range map[string]func() (*Client, error){
		"NewClientJSON(\"\")": func() (*Client, error) { return NewClientJSON("") },
		"NewClient(Config{})": func() (*Client, error) { return NewClient(Config{}) },
	} {
		c, err := mk()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		task, err := c.Create(testModel, name)
		if err != nil {
			t.Fatalf("%s: Create: %v", name, err)
		}
		if st, err := task.Wait(ctxTimeout(t, 10*time.Second)); err != nil || st != StatusCompleted {
			t.Fatalf("%s: Wait = %v, %v", name, st, err)
		}
		if got := mustText(t, task); got != "Echo: "+name {
			t.Fatalf("%s: text %q", name, got)
		}
		task.Close()
		c.Close()
	}
	// A key in the config wins over the environment's.
	t.Setenv("YC_API_KEY", "wrong-env-key")
	c, err := NewClient(Config{APIKey: String(testAPIKey)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	task, err := c.Create(testModel, "config wins")
	if err != nil {
		t.Fatalf("Create with the config's key: %v", err)
	}
	task.Close()
}

func TestConfigReachesServer(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 0, 0)
	c := emu.client(func(cfg *Config) {
		cfg.UserAgent = String("ycbg-go-test/1")
		cfg.DataLogging = Bool(false)
		cfg.Headers = map[string]string{"X-Ycbg-Test": "yes"}
	})
	task, err := c.Create(testModel, "hi")
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	reqs := emu.requests(10)
	if len(reqs) != 1 || reqs[0].Method != "POST" || !strings.HasSuffix(reqs[0].Path, "/responses") {
		t.Fatalf("recorded requests: %+v", reqs)
	}
	h := reqs[0].Headers
	checks := map[string]string{
		"authorization":          "Api-Key " + testAPIKey,
		"openai-project":         testFolderID,
		"user-agent":             "ycbg-go-test/1",
		"x-data-logging-enabled": "false",
		"x-ycbg-test":            "yes",
	}
	for k, v := range checks {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
	var body map[string]interface{}
	if err := json.Unmarshal([]byte(reqs[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	if body["model"] != "gpt://"+testFolderID+"/"+testModel || body["background"] != true || body["input"] != "hi" {
		t.Fatalf("request body: %s", reqs[0].Body)
	}
}

func TestWaitDeadline(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 50, 100)
	c := emu.client()
	task := mustCreate(t, c, longRequest("slow"))
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	st, err := task.Wait(ctx)
	elapsed := time.Since(start)
	if err != context.DeadlineExceeded || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait error = %v, want context.DeadlineExceeded", err)
	}
	if st != StatusQueued && st != StatusInProgress {
		t.Fatalf("Wait status = %v, want a non-terminal one", st)
	}
	if elapsed < 280*time.Millisecond || elapsed > 1500*time.Millisecond+slack() {
		t.Fatalf("Wait returned after %v, want about 300ms", elapsed)
	}
	// The task is still usable.
	if st, err := task.Poll(); err != nil || st.IsTerminal() {
		t.Fatalf("Poll after deadline: %v, %v", st, err)
	}
	// A context already past its deadline returns at once.
	start = time.Now()
	st, err = task.Wait(ctx)
	if err != context.DeadlineExceeded || st.IsTerminal() || st == StatusError || time.Since(start) > 200*time.Millisecond+slack() {
		t.Fatalf("Wait on an expired ctx: %v, %v after %v", st, err, time.Since(start))
	}
}

func TestWaitCancelContext(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 50, 100)
	c := emu.client()
	task := mustCreate(t, c, longRequest("slow"))
	ctx, cancel := context.WithCancel(context.Background())
	var cancelledAt time.Time
	go func() {
		time.Sleep(300 * time.Millisecond)
		cancelledAt = time.Now()
		cancel()
	}()
	st, err := task.Wait(ctx)
	returned := time.Now()
	if err != context.Canceled {
		t.Fatalf("Wait error = %v, want context.Canceled", err)
	}
	if st != StatusQueued && st != StatusInProgress {
		t.Fatalf("Wait status = %v", st)
	}
	if lag := returned.Sub(cancelledAt); lag > 700*time.Millisecond {
		t.Fatalf("Wait noticed cancellation after %v", lag)
	}
	// An already-cancelled context returns at once with the known status.
	st, err = task.Wait(ctx)
	if err != context.Canceled || (st != StatusQueued && st != StatusInProgress) {
		t.Fatalf("Wait on a cancelled ctx: %v, %v", st, err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 50, 100)
	c := emu.client()
	task := mustCreate(t, c, longRequest("to be cancelled"))
	st, err := task.Cancel()
	if err != nil || st != StatusCancelled {
		t.Fatalf("Cancel = %v, %v", st, err)
	}
	if st, err := task.Wait(ctxTimeout(t, 5*time.Second)); err != nil || st != StatusCancelled {
		t.Fatalf("Wait after Cancel = %v, %v", st, err)
	}
	r, err := task.Result()
	if err != nil || r.Status != StatusCancelled {
		t.Fatalf("Result after Cancel = %+v, %v", r, err)
	}
	before := emu.stats()
	if before.Requests.Cancel != 1 {
		t.Fatalf("%d cancel requests, want 1", before.Requests.Cancel)
	}
	if st, err := task.Cancel(); err != nil || st != StatusCancelled {
		t.Fatalf("second Cancel = %v, %v", st, err)
	}
	if after := emu.stats(); after.Requests != before.Requests {
		t.Fatalf("second Cancel made a request: %+v -> %+v", before.Requests, after.Requests)
	}
}

func TestCancelDuringWait(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 50, 100)
	c := emu.client()
	task := mustCreate(t, c, longRequest("slow"))
	type res struct {
		st  Status
		err error
	}
	done := make(chan res, 1)
	go func() {
		st, err := task.Wait(ctxTimeout(t, 20*time.Second))
		done <- res{st, err}
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if st, err := task.Cancel(); err != nil || st != StatusCancelled {
		t.Fatalf("Cancel during Wait = %v, %v", st, err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.st != StatusCancelled {
			t.Fatalf("Wait = %v, %v; want cancelled", r.st, r.err)
		}
		if d := time.Since(start); d > 1500*time.Millisecond+slack() {
			t.Fatalf("Wait ended %v after Cancel", d)
		}
	case <-time.After(5*time.Second + slack()):
		t.Fatal("Wait did not end after Cancel")
	}
}

func TestAttach(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 50, 150)
	a := emu.client()
	task, err := a.Create(testModel, "saved by another process")
	if err != nil {
		t.Fatal(err)
	}
	id := task.ID()
	task.Close()
	a.Close()

	b := emu.client()
	again, err := b.Attach(id)
	if err != nil {
		t.Fatalf("Attach(%s): %v", id, err)
	}
	defer again.Close()
	if again.ID() != id {
		t.Fatalf("attached id %q, want %q", again.ID(), id)
	}
	if st, err := again.Wait(ctxTimeout(t, 30*time.Second)); err != nil || st != StatusCompleted {
		t.Fatalf("Wait = %v, %v", st, err)
	}
	if got := mustText(t, again); got != "Echo: saved by another process" {
		t.Fatalf("OutputText = %q", got)
	}

	_, err = b.Attach("00000000-0000-4000-8000-000000000000")
	e := asError(t, err, KindAPI)
	if e.HTTPStatus != 404 {
		t.Fatalf("unknown id: http_status %d, want 404", e.HTTPStatus)
	}
	if _, err := b.Attach(""); err == nil || KindOf(err) == "" {
		t.Fatalf("Attach(\"\") = %v, want a *Error", err)
	}
	_, err = b.Attach("abc\x00def")
	asError(t, err, KindInvalidArgument)
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 50, 100)
	const wrong = "wrong-key-5f3a9c"
	c := emu.client(func(cfg *Config) { cfg.APIKey = String(wrong) })
	task, err := c.Create(testModel, "hi")
	if task != nil {
		task.Close()
		t.Fatal("Create with a wrong key succeeded")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not a *ycbg.Error", err, err)
	}
	if e.Kind != KindAPI || e.HTTPStatus != 401 || e.Retryable {
		t.Fatalf("error = %#v, want kind api, http 401, not retryable", e)
	}
	if e.Code != "invalid_api_key" {
		t.Errorf("code = %q, want invalid_api_key", e.Code)
	}
	if e.RequestID == "" {
		t.Errorf("no request_id though the server sent x-request-id")
	}
	if strings.Contains(e.Message, wrong) || strings.Contains(e.Error(), wrong) {
		t.Fatalf("error leaks the key: %v", e)
	}
}

func TestPollFaultRetried(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 50, 100)
	c := emu.client()
	task := mustCreate(t, c, longRequest("retry me"))
	emu.addFaults(map[string]interface{}{"match": "retrieve", "kind": "status", "status": 503, "retry_after": "0", "count": 1})
	st, err := task.Poll()
	if err != nil || (st != StatusQueued && st != StatusInProgress) {
		t.Fatalf("Poll = %v, %v; want a non-terminal status", st, err)
	}
	s := emu.stats()
	if s.FaultsApplied != 1 || s.Requests.Retrieve != 2 {
		t.Fatalf("stats: faults_applied %d, retrieve %d; want 1 and 2", s.FaultsApplied, s.Requests.Retrieve)
	}
	if r, err := task.Result(); err != nil || r.Error != nil {
		t.Fatalf("Result after a retried poll: %+v, %v", r, err)
	}
}

func TestFaultKinds(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 50, 100)
	c := emu.client(func(cfg *Config) { cfg.MaxRetries = Int(0) })

	t.Run("html 502 on poll is http", func(t *testing.T) {
		task := mustCreate(t, c, longRequest("html"))
		emu.addFaults(map[string]interface{}{"match": "retrieve", "kind": "html", "status": 502})
		st, err := task.Poll()
		if st != StatusError {
			t.Fatalf("Poll status = %v, want error", st)
		}
		e := asError(t, err, KindHTTP)
		if e.HTTPStatus != 502 || !e.Retryable {
			t.Fatalf("error = %#v, want http 502, retryable", e)
		}
		r, rerr := task.Result()
		if rerr != nil || r.Error == nil || r.Error.Kind != KindHTTP || (r.Status != StatusQueued && r.Status != StatusInProgress) {
			t.Fatalf("Result after the failed poll: %+v, %v", r, rerr)
		}
		// The task survives: the next poll succeeds and clears the error.
		if st, err := task.Poll(); err != nil || st.IsTerminal() {
			t.Fatalf("next Poll = %v, %v", st, err)
		}
		if r, _ := task.Result(); r.Error != nil {
			t.Fatalf("error not cleared: %+v", r.Error)
		}
	})
	t.Run("malformed on poll is protocol", func(t *testing.T) {
		task := mustCreate(t, c, longRequest("malformed"))
		emu.addFaults(map[string]interface{}{"match": "retrieve", "kind": "malformed"})
		st, err := task.Poll()
		if st != StatusError {
			t.Fatalf("Poll status = %v, want error", st)
		}
		asError(t, err, KindProtocol)
	})
	t.Run("html 502 on create is http", func(t *testing.T) {
		emu.addFaults(map[string]interface{}{"match": "create", "kind": "html", "status": 502})
		task, err := c.Create(testModel, "x")
		if task != nil {
			task.Close()
			t.Fatal("Create succeeded through a fault")
		}
		if e := asError(t, err, KindHTTP); e.HTTPStatus != 502 {
			t.Fatalf("http_status %d", e.HTTPStatus)
		}
	})
	t.Run("non-retryable failure ends Wait", func(t *testing.T) {
		task := mustCreate(t, c, longRequest("wait"))
		emu.addFaults(map[string]interface{}{"match": "retrieve", "kind": "status", "status": 400})
		st, err := task.Wait(ctxTimeout(t, 10*time.Second))
		if st != StatusError {
			t.Fatalf("Wait status = %v", st)
		}
		if e := asError(t, err, KindAPI); e.HTTPStatus != 400 || e.Retryable {
			t.Fatalf("error = %#v", e)
		}
	})
}

func TestInvalidRequest(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 50, 100)
	c := emu.client()
	_, err := c.CreateBackground("{\"model\": \"yandexgpt\",\n \"input\": }")
	e := asError(t, err, KindInvalidJSON)
	if m := strings.ToLower(e.Message); !strings.Contains(m, "line") || !strings.Contains(m, "column") {
		t.Errorf("invalid_json message %q does not name line and column", e.Message)
	}
	_, err = c.CreateBackground(`[1, 2, 3]`)
	asError(t, err, KindInvalidArgument)
	_, err = c.CreateBackground("{\"model\":\"yandexgpt\",\"input\":\"x\"}\x00")
	asError(t, err, KindInvalidArgument)
	if s := emu.stats(); s.Requests.Create != 0 {
		t.Fatalf("%d creates reached the server", s.Requests.Create)
	}
}

func TestGenerationOutcomes(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 20, 50)
	c := emu.client()

	failed := mustCreate(t, c, `{"model":"yandexgpt","input":"x","metadata":{"emulator_outcome":"failed"}}`)
	st, err := failed.Wait(ctxTimeout(t, 20*time.Second))
	if err != nil || st != StatusFailed {
		t.Fatalf("Wait = %v, %v; want failed", st, err)
	}
	r, err := failed.Result()
	if err != nil || r.Error == nil || r.Error.Kind != KindGeneration || r.Error.Code != "server_error" {
		t.Fatalf("Result of a failed task: %+v (%v)", r, err)
	}
	if KindOf(r.Err()) != KindGeneration {
		t.Fatalf("Result.Err() = %v", r.Err())
	}

	inc := mustCreate(t, c, `{"model":"yandexgpt","input":"one two three four","max_output_tokens":2}`)
	st, err = inc.Wait(ctxTimeout(t, 20*time.Second))
	if err != nil || st != StatusIncomplete {
		t.Fatalf("Wait = %v, %v; want incomplete", st, err)
	}
	r, err = inc.Result()
	if err != nil || r.Error == nil || r.Error.Kind != KindGeneration || r.Error.Code != "max_output_tokens" {
		t.Fatalf("Result of an incomplete task: %+v (%v)", r, err)
	}
	if r.OutputText != "Echo: one" {
		t.Fatalf("incomplete text %q", r.OutputText)
	}
}

func TestSharedClient16Goroutines(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 20, 60)
	c := emu.client()
	const goroutines, perG = 16, 3
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perG)
	ctx := ctxTimeout(t, 60*time.Second)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				input := fmt.Sprintf("goroutine %d task %d", g, i)
				task, err := c.Create(testModel, input)
				if err != nil {
					errs <- fmt.Errorf("%s: Create: %v", input, err)
					return
				}
				st, err := task.Wait(ctx)
				text, terr := task.OutputText()
				r, rerr := task.Result()
				task.Close()
				switch {
				case err != nil || st != StatusCompleted:
					errs <- fmt.Errorf("%s: Wait = %v, %v", input, st, err)
				case terr != nil || text != "Echo: "+input:
					errs <- fmt.Errorf("%s: OutputText = %q, %v", input, text, terr)
				case rerr != nil || r.ID != task.ID():
					errs <- fmt.Errorf("%s: Result id %v, %v", input, r, rerr)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s := emu.stats(); s.Responses != goroutines*perG || s.Requests.Create != goroutines*perG {
		t.Fatalf("server saw %d responses / %d creates, want %d", s.Responses, s.Requests.Create, goroutines*perG)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 20, 60)

	// Client: twice, concurrently, then use.
	c, err := NewClient(emu.config())
	if err != nil {
		t.Fatal(err)
	}
	task, err := c.Create(testModel, "outlives its client")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close() }()
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = c.Create(testModel, "x")
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Create on a closed client: %v", err)
	}
	asError(t, err, KindInvalidArgument)
	if _, err := c.Attach(task.ID()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Attach on a closed client: %v", err)
	}

	// The task keeps the client's connections alive.
	if st, err := task.Wait(ctxTimeout(t, 20*time.Second)); err != nil || st != StatusCompleted {
		t.Fatalf("Wait after client Close = %v, %v", st, err)
	}
	if got := mustText(t, task); got != "Echo: outlives its client" {
		t.Fatalf("OutputText = %q", got)
	}
	id := task.ID()
	task.Close()
	task.Close()
	if task.ID() != id {
		t.Fatal("ID changed after Close")
	}
	if _, err := task.Poll(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Poll on a closed task: %v", err)
	}
	if _, err := task.Wait(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait on a closed task: %v", err)
	}
	if _, err := task.Cancel(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Cancel on a closed task: %v", err)
	}
	if _, err := task.Result(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Result on a closed task: %v", err)
	}
	if _, err := task.OutputText(); !errors.Is(err, ErrClosed) {
		t.Fatalf("OutputText on a closed task: %v", err)
	}

	// Close while a Wait(ctx) is running on another goroutine.
	c2 := emu.client()
	long, err := c2.CreateBackground(longRequest("closed under Wait"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := long.Wait(ctxTimeout(t, 20*time.Second))
		done <- err
	}()
	time.Sleep(250 * time.Millisecond)
	var cwg sync.WaitGroup
	for i := 0; i < 4; i++ {
		cwg.Add(1)
		go func() { defer cwg.Done(); long.Close() }()
	}
	cwg.Wait()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Wait ended with %v, want ErrClosed", err)
		}
	case <-time.After(3*time.Second + slack()):
		t.Fatal("Wait did not notice Close")
	}

	// Nil receivers do not crash.
	var nilTask *Task
	var nilClient *Client
	if nilTask.Close() != nil || nilClient.Close() != nil || nilTask.ID() != "" {
		t.Fatal("nil Close")
	}
	if _, err := nilTask.Poll(); KindOf(err) != KindInvalidArgument {
		t.Fatalf("nil Poll: %v", err)
	}
}

func TestFinalizerFreesHandles(t *testing.T) {
	emu := startEmulator(t, 0, 0)
	before := atomic.LoadInt64(&handlesFreed)
	func() {
		c, err := NewClient(emu.config())
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if _, err := c.Create(testModel, "dropped"); err != nil {
				t.Fatal(err)
			}
		}
	}()
	deadline := time.Now().Add(10*time.Second + slack())
	for atomic.LoadInt64(&handlesFreed)-before < 6 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	if n := atomic.LoadInt64(&handlesFreed) - before; n < 6 {
		t.Fatalf("finalizers freed %d of 6 dropped handles", n)
	}
}

// ---------------------------------------------------------------------------
// Resource growth

func rssBytes(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

func fdCount(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestNoGrowth(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	emu := startEmulator(t, 50, 100)
	emu.settings(map[string]interface{}{"queue_ms": 0, "work_ms": 0})
	c := emu.client(func(cfg *Config) { cfg.PollIntervalMS = Int(1); cfg.MaxPollIntervalMS = Int(5) })
	const cycles, mark = 2000, 200
	var rss0, rss1 int64
	var fd0, fd1 int
	measure := func() (int64, int) {
		runtime.GC()
		debug.FreeOSMemory()
		return rssBytes(t), fdCount(t)
	}
	// Each response carries 4 KiB of text (in output_text, in the output
	// parts and in the raw response), so leaking one result document or
	// output string per cycle would exceed the margin below.
	req := `{"model":"yandexgpt","input":"x","metadata":{"emulator_output_bytes":"4096"}}`
	start := time.Now()
	for i := 1; i <= cycles; i++ {
		task, err := c.CreateBackground(req)
		if err != nil {
			t.Fatalf("cycle %d: Create: %v", i, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second+slack())
		st, err := task.Wait(ctx)
		cancel()
		if err != nil || st != StatusCompleted {
			t.Fatalf("cycle %d: Wait = %v, %v", i, st, err)
		}
		r, err := task.Result()
		if err != nil || len(r.OutputText) != 4096 || r.ID != task.ID() {
			t.Fatalf("cycle %d: Result: %v (text %d bytes)", i, err, len(r.OutputText))
		}
		if text, err := task.OutputText(); err != nil || text != r.OutputText {
			t.Fatalf("cycle %d: OutputText: %v", i, err)
		}
		task.Close()
		if i%10 == 0 { // error documents are released too
			if _, err := c.CreateBackground(`{"model":`); KindOf(err) != KindInvalidJSON {
				t.Fatalf("cycle %d: invalid JSON gave %v", i, err)
			}
			if _, err := c.Attach("00000000-0000-4000-8000-00000000000" + strconv.Itoa(i%10)); KindOf(err) != KindAPI {
				t.Fatalf("cycle %d: unknown id gave %v", i, err)
			}
		}
		switch i {
		case mark:
			rss0, fd0 = measure()
		case cycles:
			rss1, fd1 = measure()
		}
	}
	t.Logf("%d cycles in %v; RSS %d KiB -> %d KiB; fds %d -> %d",
		cycles, time.Since(start).Round(time.Millisecond), rss0/1024, rss1/1024, fd0, fd1)
	if growth := rss1 - rss0; growth > 8<<20 {
		t.Errorf("RSS grew by %d KiB between cycle %d and %d", growth/1024, mark, cycles)
	}
	if fd1-fd0 > 4 {
		t.Errorf("fd count grew from %d to %d", fd0, fd1)
	}
	// Polls reuse connections; each create gets a fresh one (a create is
	// never resent on a reused connection), so about one per cycle.
	if s := emu.stats(); s.Connections > cycles+100 {
		t.Errorf("%d TCP connections for %d cycles: connections are not reused", s.Connections, cycles)
	}
}

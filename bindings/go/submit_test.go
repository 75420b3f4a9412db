package ycbg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// osThreads is the "Threads:" line of /proc/self/status.
func osThreads(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Threads:") {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Threads:")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// awaitDone waits for every task's Done channel, in order; a generous bound
// turns a hang into a failure (it is not a timing assertion).
func awaitDone(t testing.TB, tasks []*Task) {
	t.Helper()
	limit := time.NewTimer(120 * time.Second)
	defer limit.Stop()
	for i, task := range tasks {
		select {
		case <-task.Done():
		case <-limit.C:
			t.Fatalf("task %d of %d: Done not closed within the bound", i, len(tasks))
		}
	}
}

func (c *Client) eventGoroutineRunning() bool {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	return c.d.running
}

// eventually retries cond (bounded) until it holds.
func eventually(cond func() bool) bool {
	for i := 0; i < 400; i++ {
		if cond() {
			return true
		}
		runtime.GC()
		time.Sleep(25 * time.Millisecond)
	}
	return cond()
}

func TestSubmitMany(t *testing.T) {
	emu := startEmulator(t, 20, 200)
	c := emu.client()
	const n = 200
	goroutines0, threads0 := runtime.NumGoroutine(), osThreads(t)

	tasks := make([]*Task, n)
	for i := range tasks {
		req, _ := requestJSON(testModel, fmt.Sprintf("task %d", i))
		task, err := c.Submit(req)
		if err != nil {
			t.Fatalf("Submit %d: %v", i, err)
		}
		t.Cleanup(func() { task.Close() })
		if task.Done() == nil {
			t.Fatal("a submitted task has no Done channel")
		}
		tasks[i] = task
	}
	// While they are driven: one goroutine for the client, no thread per task.
	goroutines1, threads1 := runtime.NumGoroutine(), osThreads(t)
	awaitDone(t, tasks)
	t.Logf("goroutines %d -> %d, threads %d -> %d while %d tasks were driven",
		goroutines0, goroutines1, threads0, threads1, n)
	if goroutines1 > goroutines0+2 {
		t.Errorf("goroutines grew from %d to %d for %d submitted tasks", goroutines0, goroutines1, n)
	}
	if threads1 > threads0+12 {
		t.Errorf("threads grew from %d to %d for %d submitted tasks", threads0, threads1, n)
	}

	ids := map[string]int{}
	for i, task := range tasks {
		st, err := task.Wait(context.Background())
		if err != nil || st != StatusCompleted {
			t.Fatalf("task %d: Wait = %v, %v", i, st, err)
		}
		if got, want := mustText(t, task), fmt.Sprintf("Echo: task %d", i); got != want {
			t.Fatalf("task %d: text %q, want %q", i, got, want)
		}
		id := task.ID()
		if id == "" {
			t.Fatalf("task %d: no id after completion", i)
		}
		if j, dup := ids[id]; dup {
			t.Fatalf("tasks %d and %d share the id %s", j, i, id)
		}
		ids[id] = i
	}
	// The event goroutine ends once nothing is pending (measured before the
	// test's own HTTP client adds its connection goroutines).
	if !eventually(func() bool { return !c.eventGoroutineRunning() && runtime.NumGoroutine() <= goroutines0 }) {
		t.Errorf("goroutines: %d after all events, %d before", runtime.NumGoroutine(), goroutines0)
	}
	if s := emu.stats(); s.Requests.Create != n || s.Responses != n {
		t.Fatalf("server saw %d creates and has %d responses; want %d each", s.Requests.Create, s.Responses, n)
	}
}

func TestSubmitWaitContext(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 20, 100)
	c := emu.client()
	task, err := c.Submit(longRequest("never done in time"))
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st, err := task.Wait(ctx)
	if err != context.Canceled || st.IsTerminal() {
		t.Fatalf("Wait with a cancelled context = %v, %v", st, err)
	}
	// Cancel on the driven task ends it, and its Done channel closes.
	if eventually(func() bool { return task.ID() != "" }) == false {
		t.Fatal("the create was never answered")
	}
	if st, err := task.Cancel(); err != nil || st != StatusCancelled {
		t.Fatalf("Cancel = %v, %v", st, err)
	}
	awaitDone(t, []*Task{task})
	if st, err := task.Wait(context.Background()); err != nil || st != StatusCancelled {
		t.Fatalf("Wait after Cancel = %v, %v", st, err)
	}
}

func TestSubmitErrors(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, 20, 50)
	const wrong = "wrong-key-77ad1"
	c := emu.client(func(cfg *Config) { cfg.APIKey = String(wrong) })

	// Checked at once: nothing is sent.
	if task, err := c.Submit(`{"model":`); task != nil || KindOf(err) != KindInvalidJSON {
		t.Fatalf("Submit of bad JSON = %v, %v", task, err)
	}
	if _, err := c.Submit("[1]"); KindOf(err) != KindInvalidArgument {
		t.Fatalf("Submit of a non-object = %v", err)
	}

	// A create that fails for good ends the task with its error.
	task, err := c.Submit(`{"model":"yandexgpt","input":"denied"}`)
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	awaitDone(t, []*Task{task})
	st, err := task.Wait(context.Background())
	if st != StatusError {
		t.Fatalf("Wait status = %v, want error", st)
	}
	e := asError(t, err, KindAPI)
	if e.HTTPStatus != 401 || e.Retryable || strings.Contains(e.Error(), wrong) {
		t.Fatalf("error = %#v", e)
	}
	if task.ID() != "" {
		t.Fatalf("a failed create has id %q", task.ID())
	}
	if r, err := task.Result(); err != nil || r.Error == nil || r.Error.HTTPStatus != 401 {
		t.Fatalf("Result = %+v, %v; want the 401 in Error", r, err)
	}
	if s := emu.stats(); s.Responses != 0 {
		t.Fatalf("%d responses on the server after a refused create", s.Responses)
	}

	// A poll's non-retryable error: Poll returns the error of that very
	// call (yc_poll_ex), and the driven task ends with it too.
	ok := emu.client()
	bad, err := ok.Submit(longRequest("malformed answers"))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if !eventually(func() bool { return bad.ID() != "" }) {
		t.Fatal("the create was never answered")
	}
	emu.addFaults(map[string]interface{}{"match": "retrieve", "kind": "malformed", "count": 1000})
	if st, err := bad.Poll(); st != StatusError {
		t.Fatalf("Poll = %v, %v; want an error", st, err)
	} else {
		asError(t, err, KindProtocol)
	}
	awaitDone(t, []*Task{bad})
	st, err = bad.Wait(context.Background())
	if st != StatusError {
		t.Fatalf("Wait = %v, %v; want an error", st, err)
	}
	asError(t, err, KindProtocol)
}

func TestSubmitCloseWhileDriven(t *testing.T) {
	emu := startEmulator(t, 20, 100)

	// Closing tasks while they are driven: their Done channels close.
	c := emu.client()
	var long []*Task
	for i := 0; i < 30; i++ {
		task, err := c.Submit(longRequest(fmt.Sprintf("long %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		long = append(long, task)
	}
	for _, task := range long {
		task.Close()
	}
	awaitDone(t, long)
	for _, task := range long {
		if _, err := task.Wait(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("Wait on a closed submitted task: %v", err)
		}
	}

	// Closing the client while tasks are driven: their Done channels
	// close, and Wait goes on through the library.
	c2 := emu.client()
	var tasks []*Task
	for i := 0; i < 30; i++ {
		req, _ := requestJSON(testModel, fmt.Sprintf("outlives %d", i))
		task, err := c2.Submit(req)
		if err != nil {
			t.Fatal(err)
		}
		defer task.Close()
		tasks = append(tasks, task)
	}
	c2.Close()
	if _, err := c2.Submit(`{"model":"yandexgpt","input":"x"}`); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
	awaitDone(t, tasks)
	for i, task := range tasks {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		st, err := task.Wait(ctx)
		cancel()
		if err != nil || st != StatusCompleted {
			t.Fatalf("task %d after its client's Close: Wait = %v, %v", i, st, err)
		}
		if got, want := mustText(t, task), fmt.Sprintf("Echo: outlives %d", i); got != want {
			t.Fatalf("task %d: text %q, want %q", i, got, want)
		}
	}
	if !eventually(func() bool { return !c.eventGoroutineRunning() && !c2.eventGoroutineRunning() }) {
		t.Errorf("an event goroutine still runs after its client's tasks were closed or its client was closed")
	}
}

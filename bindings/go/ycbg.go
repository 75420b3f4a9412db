package ycbg

/*
#cgo pkg-config: ycbg
#include <stdlib.h>
#include <ycbg.h>
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Version returns the library's version, "MAJOR.MINOR.PATCH".
func Version() string {
	return C.GoString(C.yc_version())
}

// cStatusName is yc_status_name, for tests that check Status.String.
func cStatusName(s Status) string {
	return C.GoString(C.yc_status_name(C.yc_status(s)))
}

// takeString copies an owned C string and releases it with yc_free (once).
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.yc_free(unsafe.Pointer(p))
	return s
}

// cString copies s to C memory (released by the caller with C.free); a NUL
// byte inside s is an error, since C would silently cut the text there.
func cString(s, what string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, argError(what + " contains a NUL byte")
	}
	return C.CString(s), nil
}

// ---------------------------------------------------------------------------
// Client

// Client is a configured connection to the Responses API (yc_client). It is
// safe for concurrent use by multiple goroutines.
type Client struct {
	h handle
	d driver // tasks made by Submit, until their event comes
}

// NewClient creates a client from cfg; unset fields fall back to the
// environment and the library's defaults. No network request is made.
func NewClient(cfg Config) (*Client, error) {
	doc, err := cfg.JSON()
	if err != nil {
		return nil, argError("config: " + err.Error())
	}
	return NewClientJSON(doc)
}

// BindingVersion is the version of this package: the library's version it
// was made for (YCBG_VERSION_* in ycbg.h; a test checks that they agree).
const BindingVersion = "0.2.0"

// CheckVersion reports whether the loaded library is the major version this
// package was made for and at least its minor version (a minor release only
// adds). NewClient and NewClientJSON call it; a mismatch is a KindConfig
// error naming both versions.
func CheckVersion() error {
	have := Version()
	if compatible(BindingVersion, have) {
		return nil
	}
	return &Error{Kind: KindConfig, Message: fmt.Sprintf(
		"the ycbg Go package %s needs libycbg %s or a later minor version of it, but the loaded library is %q",
		BindingVersion, BindingVersion, have)}
}

// compatible reports whether library version have serves a package made for
// want: the same major version and at least its minor.
func compatible(want, have string) bool {
	var wMajor, wMinor, hMajor, hMinor int
	if _, err := fmt.Sscanf(want, "%d.%d.", &wMajor, &wMinor); err != nil {
		return false
	}
	if _, err := fmt.Sscanf(have, "%d.%d.", &hMajor, &hMinor); err != nil {
		return false
	}
	return hMajor == wMajor && hMinor >= wMinor
}

// NewClientJSON creates a client from a config_json document (see Config
// for the keys). An empty string means no document: everything comes from
// the environment and the defaults.
func NewClientJSON(configJSON string) (*Client, error) {
	if err := CheckVersion(); err != nil {
		return nil, err
	}
	var ccfg *C.char
	if configJSON != "" {
		var err error
		if ccfg, err = cString(configJSON, "config JSON"); err != nil {
			return nil, err
		}
		defer C.free(unsafe.Pointer(ccfg))
	}
	var cerr *C.char
	p := C.yc_client_new(ccfg, &cerr)
	doc := takeString(cerr)
	if p == nil {
		return nil, parseErrorDoc(doc, "yc_client_new")
	}
	c := &Client{}
	c.h.init(unsafe.Pointer(p), func(p unsafe.Pointer) { C.yc_client_free((*C.yc_client)(p)) })
	runtime.SetFinalizer(c, (*Client).Close)
	return c, nil
}

// Close releases the client. Tasks made from it stay valid. Close is
// idempotent, safe to call concurrently, and always returns nil; a call
// still running keeps the handle until it returns.
func (c *Client) Close() error {
	if c == nil {
		return nil
	}
	c.h.close()
	runtime.SetFinalizer(c, nil)
	return nil
}

// CreateBackground starts a background response from a Responses API
// request object (model, input, instructions, max_output_tokens, ...); the
// library forces "background": true and expands model short names with the
// folder id. It returns once the server has answered with a response id.
func (c *Client) CreateBackground(requestJSON string) (*Task, error) {
	return c.withRequest(requestJSON, func(p unsafe.Pointer, creq *C.char) (*Task, error) {
		var cerr *C.char
		tp := C.yc_create_background((*C.yc_client)(p), creq, &cerr)
		doc := takeString(cerr)
		if tp == nil {
			return nil, parseErrorDoc(doc, "yc_create_background")
		}
		return newTask(tp), nil
	})
}

// withRequest runs call with the live client handle and the request as a C
// string: the checks CreateBackground and Submit share.
func (c *Client) withRequest(requestJSON string, call func(p unsafe.Pointer, creq *C.char) (*Task, error)) (*Task, error) {
	if c == nil {
		return nil, argError("nil *Client")
	}
	creq, err := cString(requestJSON, "request JSON")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(creq))
	p, ok := c.h.acquire()
	if !ok {
		return nil, closedError("client")
	}
	defer func() { c.h.release(); runtime.KeepAlive(c) }()
	return call(p, creq)
}

// Create starts a background response for {"model": model, "input": input}.
func (c *Client) Create(model, input string) (*Task, error) {
	req, err := requestJSON(model, input)
	if err != nil {
		return nil, argError("request: " + err.Error())
	}
	return c.CreateBackground(req)
}

// Attach makes a Task for an existing response id and fetches its state
// once. An unknown id is a *Error of kind KindAPI with HTTPStatus 404.
func (c *Client) Attach(responseID string) (*Task, error) {
	if c == nil {
		return nil, argError("nil *Client")
	}
	cid, err := cString(responseID, "response id")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cid))
	p, ok := c.h.acquire()
	if !ok {
		return nil, closedError("client")
	}
	var cerr *C.char
	tp := C.yc_attach((*C.yc_client)(p), cid, &cerr)
	c.h.release()
	runtime.KeepAlive(c)
	doc := takeString(cerr)
	if tp == nil {
		return nil, parseErrorDoc(doc, "yc_attach")
	}
	return newTask(tp), nil
}

// ---------------------------------------------------------------------------
// Task

// Task is one background response on the server (yc_task). Its methods may
// be called from several goroutines; the library serializes calls on one
// task, so a Cancel issued during a Wait(ctx) runs between two wait slices.
type Task struct {
	h handle

	idMu sync.Mutex
	id   string // "" until known (a submitted task's create not answered yet)

	sub *submitted // nil unless the task was made by Client.Submit
}

func newTask(p *C.yc_task) *Task {
	t := &Task{id: C.GoString(C.yc_task_id(p))}
	t.initHandle(p)
	return t
}

func (t *Task) initHandle(p *C.yc_task) {
	t.h.init(unsafe.Pointer(p), func(p unsafe.Pointer) { C.yc_task_free((*C.yc_task)(p)) })
	runtime.SetFinalizer(t, (*Task).Close)
}

// ID returns the server's response id (also after Close). For a task made
// by Submit it is "" until the server has answered the create (and stays ""
// if the create failed).
func (t *Task) ID() string {
	if t == nil {
		return ""
	}
	t.idMu.Lock()
	defer t.idMu.Unlock()
	if t.id != "" {
		return t.id
	}
	p, ok := t.h.acquire()
	if !ok {
		return ""
	}
	if id := C.yc_task_id((*C.yc_task)(p)); id != nil {
		t.id = C.GoString(id)
	}
	t.h.release()
	runtime.KeepAlive(t)
	return t.id
}

// Close frees the task; the response on the server is neither cancelled
// nor deleted. Close is idempotent, safe to call concurrently, and always
// returns nil; a call still running keeps the handle until it returns.
func (t *Task) Close() error {
	if t == nil {
		return nil
	}
	if t.sub != nil {
		// Its event, if not yet taken, is dropped by yc_task_free: stop
		// expecting it, and end Done.
		t.sub.client.d.forget(t.sub.tag)
		t.sub.finish(StatusError, closedError("task"), false)
	}
	t.ID() // keep the id readable after Close
	t.h.close()
	runtime.SetFinalizer(t, nil)
	return nil
}

func (t *Task) acquire() (*C.yc_task, error) {
	if t == nil {
		return nil, argError("nil *Task")
	}
	p, ok := t.h.acquire()
	if !ok {
		return nil, closedError("task")
	}
	return (*C.yc_task)(p), nil
}

func (t *Task) release() {
	t.h.release()
	runtime.KeepAlive(t)
}

// resultLocked reads yc_result of an acquired task.
func resultLocked(p *C.yc_task) (*Result, error) {
	doc := C.yc_result(p)
	if doc == nil {
		return nil, &Error{Kind: KindInvalidArgument, Message: "yc_result returned NULL"}
	}
	return parseResult(takeString(doc))
}

// status runs one status-returning _ex C call on the task; on
// YC_STATUS_ERROR its error is the error of that very call, whatever other
// goroutines do on the task meanwhile.
func (t *Task) status(what string, call func(*C.yc_task, **C.char) C.yc_status) (Status, error) {
	p, err := t.acquire()
	if err != nil {
		return StatusError, err
	}
	defer t.release()
	var cerr *C.char
	st := Status(call(p, &cerr))
	doc := takeString(cerr)
	if st == StatusError {
		return StatusError, parseErrorDoc(doc, what)
	}
	return st, nil
}

// Poll refreshes the task once (GET /responses/{id}, with the library's
// retry policy) and returns its status. On a terminal task it makes no
// request. On failure it returns StatusError and a *Error; the task keeps
// its last status and a later Poll may succeed.
func (t *Task) Poll() (Status, error) {
	return t.status("yc_poll_ex", func(p *C.yc_task, e **C.char) C.yc_status { return C.yc_poll_ex(p, e) })
}

// Cancel asks the server to stop the response and returns the status it
// reports afterwards (best effort: a response that finished first stays
// completed). On a terminal task it makes no request.
func (t *Task) Cancel() (Status, error) {
	return t.status("yc_cancel_ex", func(p *C.yc_task, e **C.char) C.yc_status { return C.yc_cancel_ex(p, e) })
}

// WaitTimeout is yc_wait: it polls with the library's growing interval
// (and the server's hints) until the task is terminal or d has passed (d <
// 0: no limit; 0: at most one poll). It cannot be interrupted; use Wait for
// that. It returns the terminal status, the last status when the time ran
// out, or StatusError and a *Error on a non-retryable failure.
func (t *Task) WaitTimeout(d time.Duration) (Status, error) {
	ms := int64(-1)
	if d >= 0 {
		ms = int64(d / time.Millisecond)
	}
	return t.waitMS(ms)
}

func (t *Task) waitMS(ms int64) (Status, error) {
	return t.status("yc_wait_ex", func(p *C.yc_task, e **C.char) C.yc_status { return C.yc_wait_ex(p, C.long(ms), e) })
}

// waitSlice bounds one yc_wait call inside Wait, and so how late Wait
// notices that its context is done.
const waitSlice = 200 * time.Millisecond

// Wait polls until the task reaches a terminal status, a non-retryable
// error happens, or ctx is done.
//
// On a task made by Submit, Wait sends no request: it waits for Done or ctx
// and returns the outcome the client's event brought (if the client was
// closed first, it waits through yc_wait as below).
//
// It returns (terminal status, nil) when the task ends; Failed and
// Incomplete are statuses, not errors (their KindGeneration error is in
// Result().Error). It returns (StatusError, *Error) on a non-retryable
// failure (retryable ones are recorded and polling goes on).
//
// When ctx is done first, Wait returns the last status the server reported
// (non-terminal) and ctx.Err() itself, unwrapped: context.Canceled or
// context.DeadlineExceeded, so both err == context.Canceled and errors.Is
// work. The error of the last retryable failure, if any, is then in
// Result().Error. Cancellation is noticed within about 200 ms, and a
// deadline is never overshot by more than one in-flight request cut at it.
//
// With a context that can never be done (context.Background()), Wait is one
// uninterrupted yc_wait call. Otherwise it calls yc_wait in slices of at
// most 200 ms (shorter near the deadline). The polling schedule (the
// growing interval from PollIntervalMS to MaxPollIntervalMS, and the
// server's hints) lives in the task, so slicing adds no requests: a slice in
// which no poll is due only sleeps.
func (t *Task) Wait(ctx context.Context) (Status, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if t != nil && t.sub != nil {
		if st, err, ok := t.waitSubmitted(ctx); ok {
			return st, err
		}
		// The client was closed before the task's event came: the library
		// still drives the task for yc_wait, so wait as for any task.
	}
	if ctx.Done() == nil {
		if _, ok := ctx.Deadline(); !ok {
			return t.waitMS(-1)
		}
	}
	last := StatusError // unknown yet
	for {
		if err := ctx.Err(); err != nil {
			return t.lastKnown(last), err
		}
		slice := waitSlice
		if dl, ok := ctx.Deadline(); ok {
			rem := time.Until(dl)
			if rem < time.Millisecond {
				// The deadline is (all but) reached: wait for ctx to say so.
				timer := time.NewTimer(rem + time.Millisecond)
				select {
				case <-ctx.Done():
				case <-timer.C:
				}
				timer.Stop()
				err := ctx.Err()
				if err == nil {
					err = context.DeadlineExceeded
				}
				return t.lastKnown(last), err
			}
			if rem < slice {
				slice = rem
			}
		}
		st, err := t.waitMS(int64(slice / time.Millisecond))
		if err != nil || st.IsTerminal() {
			return st, err
		}
		last = st
	}
}

// lastKnown returns last, or when it is not known yet the task's current
// status from yc_result (no request).
func (t *Task) lastKnown(last Status) Status {
	if last != StatusError {
		return last
	}
	if r, err := t.Result(); err == nil {
		return r.Status
	}
	return StatusError
}

// Result returns a snapshot of the task (no request). The error is
// non-nil only for a closed task or an unreadable document; the task's own
// error is Result.Error.
func (t *Task) Result() (*Result, error) {
	p, err := t.acquire()
	if err != nil {
		return nil, err
	}
	defer t.release()
	return resultLocked(p)
}

// OutputText returns the generated text, "" until there is output (no
// request). The error is non-nil only for a closed task.
func (t *Task) OutputText() (string, error) {
	p, err := t.acquire()
	if err != nil {
		return "", err
	}
	defer t.release()
	// yc_output_text_len: all of the text, also past a NUL inside it, the
	// same text as Result().OutputText.
	var n C.size_t
	s := C.yc_output_text_len(p, &n)
	if s == nil {
		return "", &Error{Kind: KindInvalidArgument, Message: "yc_output_text_len returned NULL"}
	}
	text := C.GoStringN(s, C.int(n))
	C.yc_free(unsafe.Pointer(s))
	return text, nil
}

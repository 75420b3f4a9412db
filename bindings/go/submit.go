package ycbg

/*
#include <stdlib.h>
#include <ycbg.h>
*/
import "C"

import (
	"context"
	"sync"
	"unsafe"
)

// drainSliceMS bounds one yc_next_events call of a client's event
// goroutine, and so how long the C client outlives Client.Close while
// submitted tasks are still pending (the goroutine holds the client handle
// while inside C, and yc_next_events cannot be woken from Go otherwise).
const drainSliceMS = 250

// eventBatch is how many events one yc_next_events call may take.
const eventBatch = 64

// driver is a client's record of its submitted tasks: a map keyed by the tag
// given to yc_submit (never a Go pointer handed to C), and whether the
// goroutine that drains the client's events is running. The goroutine runs
// only while some submitted task awaits its event.
type driver struct {
	mu      sync.Mutex
	tasks   map[uint64]*submitted
	nextTag uint64
	running bool
}

// forget stops expecting the event of tag (its task was closed).
func (d *driver) forget(tag uint64) {
	d.mu.Lock()
	delete(d.tasks, tag)
	d.mu.Unlock()
}

// submitted is the channel side of a task made by Client.Submit.
type submitted struct {
	client *Client
	tag    uint64
	done   chan struct{}

	once     sync.Once
	status   Status
	err      error
	detached bool // the client was closed before the event came
}

// finish records the outcome and closes done, once.
func (s *submitted) finish(st Status, err error, detached bool) {
	s.once.Do(func() {
		s.status, s.err, s.detached = st, err, detached
		close(s.done)
	})
}

// Submit checks a Responses API request at once (as CreateBackground does)
// and returns a Task without waiting for the network: the client sends the
// create, polls the task until it is terminal and then closes its Done
// channel. All of this runs on the library's one I/O thread per client; one
// goroutine per client (running only while submitted tasks are pending)
// takes the finished tasks' events with yc_next_events and closes their
// channels.
//
// Until the server has answered the create, ID returns "" and the status is
// queued. A request the library rejects at once (bad JSON, not an object,
// "stream") is an error here and nothing is sent; a create that fails for
// good later (401, 400, ...) ends the task: Done is closed and Wait returns
// StatusError with that error.
func (c *Client) Submit(requestJSON string) (*Task, error) {
	return c.withRequest(requestJSON, c.submit)
}

func (c *Client) submit(p unsafe.Pointer, creq *C.char) (*Task, error) {
	d := &c.d
	// d.mu is held across yc_submit (which does not wait for the network)
	// so the event goroutine cannot see the tag's event before the task is
	// in the map.
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nextTag++
	tag := d.nextTag
	var cerr *C.char
	tp := C.yc_submit((*C.yc_client)(p), creq, C.uint64_t(tag), &cerr)
	doc := takeString(cerr)
	if tp == nil {
		return nil, parseErrorDoc(doc, "yc_submit")
	}
	t := &Task{sub: &submitted{client: c, tag: tag, done: make(chan struct{}), status: StatusQueued}}
	t.initHandle(tp)
	if d.tasks == nil {
		d.tasks = make(map[uint64]*submitted)
	}
	d.tasks[tag] = t.sub
	if !d.running {
		d.running = true
		go c.drainEvents()
	}
	return t, nil
}

// Done returns a channel that is closed when a task made by Submit has
// finished: it reached a terminal status, or failed for good (its create or
// a poll failed with a non-retryable error, or task_timeout_ms passed), or
// the task was closed, or its client was closed first. Wait then returns the
// outcome at once. For a task not made by Submit, Done returns nil.
func (t *Task) Done() <-chan struct{} {
	if t == nil || t.sub == nil {
		return nil
	}
	return t.sub.done
}

// waitSubmitted waits on Done or ctx. ok is false when the client was
// closed before the task's event came (the caller then waits through the
// library).
//
// On a submitted task, Wait waits for Done or ctx: it returns the terminal
// status (nil error), or StatusError and the *Error that ended the task, or,
// when ctx is done first, the task's current status and ctx.Err(). It sends
// no request of its own.
func (t *Task) waitSubmitted(ctx context.Context) (st Status, err error, ok bool) {
	select {
	case <-t.sub.done:
	case <-ctx.Done():
		select {
		case <-t.sub.done: // both ready: the outcome wins
		default:
			return t.lastKnown(StatusError), ctx.Err(), true
		}
	}
	if t.sub.detached {
		return 0, nil, false
	}
	return t.sub.status, t.sub.err, true
}

// drainEvents is the client's event goroutine: it takes events with
// yc_next_events in slices of drainSliceMS (so that it notices Close: it
// holds the client handle only while inside C) and closes the Done channel
// of each finished task, found by its tag. It ends when no submitted task
// is pending, or when the client is closed; then the tasks still pending
// are detached (Done is closed and Wait goes on through yc_wait).
func (c *Client) drainEvents() {
	var events [eventBatch]C.yc_event
	d := &c.d
	for {
		p, ok := c.h.acquire()
		n := C.int(-1)
		if ok {
			n = C.yc_next_events((*C.yc_client)(p), &events[0], eventBatch, drainSliceMS)
			c.h.release()
		}
		if n < 0 {
			d.mu.Lock()
			pending := d.tasks
			d.tasks = nil
			d.running = false
			d.mu.Unlock()
			for _, s := range pending {
				s.finish(StatusError, closedError("client"), true)
			}
			return
		}
		for i := 0; i < int(n); i++ {
			ev := &events[i]
			tag := uint64(ev.tag)
			st := Status(ev.status)
			var err error
			if ev.error_json != nil {
				doc := takeString(ev.error_json)
				ev.error_json = nil
				if st == StatusError {
					err = parseErrorDoc(doc, "the submitted task")
				}
			} else if st == StatusError {
				err = parseErrorDoc("", "the submitted task")
			}
			d.mu.Lock()
			s := d.tasks[tag]
			delete(d.tasks, tag)
			d.mu.Unlock()
			if s != nil {
				s.finish(st, err, false)
			}
		}
		d.mu.Lock()
		if len(d.tasks) == 0 {
			d.running = false
			d.mu.Unlock()
			return
		}
		d.mu.Unlock()
	}
}

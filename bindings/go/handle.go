package ycbg

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// handlesFreed counts C handles freed (for the finalizer test).
var handlesFreed int64

// handle guards a C handle so that Close is idempotent and safe
// concurrently with calls: calls hold a use count while inside C, and the
// handle is freed exactly once, by Close or by the last call to return after
// Close.
type handle struct {
	mu     sync.Mutex
	ptr    unsafe.Pointer
	users  int
	closed bool
	free   func(unsafe.Pointer)
}

func (h *handle) init(p unsafe.Pointer, free func(unsafe.Pointer)) {
	h.ptr = p
	h.free = free
}

// acquire returns the C pointer and holds it until release; ok is false
// after Close.
func (h *handle) acquire() (p unsafe.Pointer, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.ptr == nil {
		return nil, false
	}
	h.users++
	return h.ptr, true
}

func (h *handle) release() {
	h.mu.Lock()
	h.users--
	p := h.takeIfDoneLocked()
	h.mu.Unlock()
	if p != nil {
		h.free(p)
		atomic.AddInt64(&handlesFreed, 1)
	}
}

// close marks the handle closed and frees it now if no call is using it.
func (h *handle) close() {
	h.mu.Lock()
	h.closed = true
	p := h.takeIfDoneLocked()
	h.mu.Unlock()
	if p != nil {
		h.free(p)
		atomic.AddInt64(&handlesFreed, 1)
	}
}

func (h *handle) takeIfDoneLocked() unsafe.Pointer {
	if !h.closed || h.users > 0 || h.ptr == nil {
		return nil
	}
	p := h.ptr
	h.ptr = nil
	return p
}

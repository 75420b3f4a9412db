package ycbg

import "strconv"

// Status is the state of a Task (yc_status in the C ABI).
type Status int

// The values of Status; they equal the C enum yc_status.
const (
	// StatusError means the call failed; the error is returned with it
	// (and recorded in Result().Error). It is never a server status.
	StatusError      Status = -1
	StatusQueued     Status = 0
	StatusInProgress Status = 1
	StatusCompleted  Status = 2
	StatusFailed     Status = 3
	StatusCancelled  Status = 4
	StatusIncomplete Status = 5
)

var statusNames = [...]string{
	StatusQueued:     "queued",
	StatusInProgress: "in_progress",
	StatusCompleted:  "completed",
	StatusFailed:     "failed",
	StatusCancelled:  "cancelled",
	StatusIncomplete: "incomplete",
}

// String returns the lower-case name the library and the server use:
// "queued", "in_progress", "completed", "failed", "cancelled", "incomplete",
// "error", or "unknown" for a value outside the enum (as yc_status_name).
func (s Status) String() string {
	if s == StatusError {
		return "error"
	}
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// GoString makes %#v readable.
func (s Status) GoString() string {
	return "ycbg.Status(" + strconv.Itoa(int(s)) + ":" + s.String() + ")"
}

// IsTerminal reports whether s is final: completed, failed, cancelled or
// incomplete. Poll, Wait and Cancel on a terminal task make no request.
func (s Status) IsTerminal() bool {
	switch s {
	case StatusCompleted, StatusFailed, StatusCancelled, StatusIncomplete:
		return true
	}
	return false
}

// ParseStatus maps a server status name ("queued", "in_progress", ...,
// "error") to a Status; ok is false for an unknown name.
func ParseStatus(name string) (s Status, ok bool) {
	if name == "error" {
		return StatusError, true
	}
	for i, n := range statusNames {
		if n == name {
			return Status(i), true
		}
	}
	return StatusError, false
}

package ycbg

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// ErrorKind classifies an Error; the values are the "kind" strings of the
// C ABI's error documents.
type ErrorKind string

// The kinds of Error.
const (
	// A nil or unusable argument, valid JSON that is not an object, or a
	// Client/Task used after Close.
	KindInvalidArgument ErrorKind = "invalid_argument"
	// Text that does not parse as JSON; the message names line and column.
	KindInvalidJSON ErrorKind = "invalid_json"
	// A bad configuration (unknown key, wrong type, credentials, base_url,
	// model short name without folder id); the message names the key.
	KindConfig ErrorKind = "config"
	// No connection, DNS, TLS, a reset before a complete answer.
	KindNetwork ErrorKind = "network"
	// connect_timeout_ms or timeout_ms ran out.
	KindTimeout ErrorKind = "timeout"
	// An HTTP error status whose body is not a recognised error document.
	KindHTTP ErrorKind = "http"
	// An HTTP error status with a recognised error body (Code, Message).
	KindAPI ErrorKind = "api"
	// A 2xx answer that is not a valid Response object.
	KindProtocol ErrorKind = "protocol"
	// The server reports the task failed or incomplete.
	KindGeneration ErrorKind = "generation"
)

// ErrClosed is matched (errors.Is) by the error returned when a Client or a
// Task is used after Close.
var ErrClosed = errors.New("ycbg: use of closed handle")

// Error is an error reported by libycbg (one of its JSON error documents),
// or by this binding for a closed handle or an unusable argument.
type Error struct {
	Kind       ErrorKind // always set
	Message    string    // always set; never contains the API key or IAM token
	HTTPStatus int       // 0 when no HTTP answer was received
	Code       string    // the server's error code, "" when none
	RequestID  string    // the server's x-request-id, "" when none
	Retryable  bool      // whether repeating the call may succeed

	cause error
}

// Error formats the error as "ycbg: <kind>: <message> (http N, code C,
// request_id R)".
func (e *Error) Error() string {
	if e == nil {
		return "ycbg: <nil>"
	}
	var b strings.Builder
	b.WriteString("ycbg: ")
	b.WriteString(string(e.Kind))
	b.WriteString(": ")
	b.WriteString(e.Message)
	var extra []string
	if e.HTTPStatus != 0 {
		extra = append(extra, "http "+strconv.Itoa(e.HTTPStatus))
	}
	if e.Code != "" {
		extra = append(extra, "code "+e.Code)
	}
	if e.RequestID != "" {
		extra = append(extra, "request_id "+e.RequestID)
	}
	if len(extra) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(extra, ", "))
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns ErrClosed for a use-after-Close error, else nil.
func (e *Error) Unwrap() error { return e.cause }

// UnmarshalJSON reads a C ABI error document. "code" may be a string or a
// number (gRPC codes); both become Code.
func (e *Error) UnmarshalJSON(b []byte) error {
	var raw struct {
		Kind       string          `json:"kind"`
		Message    string          `json:"message"`
		HTTPStatus *int            `json:"http_status"`
		Code       json.RawMessage `json:"code"`
		RequestID  *string         `json:"request_id"`
		Retryable  bool            `json:"retryable"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*e = Error{Kind: ErrorKind(raw.Kind), Message: raw.Message, Retryable: raw.Retryable}
	if raw.HTTPStatus != nil {
		e.HTTPStatus = *raw.HTTPStatus
	}
	if raw.RequestID != nil {
		e.RequestID = *raw.RequestID
	}
	if c := bytes.TrimSpace(raw.Code); len(c) > 0 && !bytes.Equal(c, []byte("null")) {
		var s string
		if json.Unmarshal(c, &s) == nil {
			e.Code = s
		} else {
			e.Code = string(c)
		}
	}
	return nil
}

// KindOf returns the Kind of the *Error in err's chain, or "" if there is
// none.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// parseErrorDoc turns an error document from the library into a *Error.
func parseErrorDoc(doc string, what string) *Error {
	if doc == "" {
		return &Error{Kind: KindInvalidArgument, Message: what + " failed and the library gave no error document"}
	}
	var e Error
	if err := json.Unmarshal([]byte(doc), &e); err != nil || e.Kind == "" {
		return &Error{Kind: KindProtocol, Message: what + " failed; unreadable error document: " + doc}
	}
	return &e
}

func closedError(what string) *Error {
	return &Error{Kind: KindInvalidArgument, Message: what + " is closed", cause: ErrClosed}
}

func argError(msg string) *Error {
	return &Error{Kind: KindInvalidArgument, Message: msg}
}

package ycbg

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Result is a snapshot of a Task (the C ABI's yc_result document).
type Result struct {
	// ID is the server's response id.
	ID string
	// Status is the last status the server reported (never StatusError).
	Status Status
	// OutputText is the generated text, "" until there is output.
	OutputText string
	// Usage is the server's usage object as raw JSON
	// ({"input_tokens":..,"output_tokens":..,"total_tokens":..,...}), nil
	// while the server reports none.
	Usage json.RawMessage
	// Error is the error of the last call on the task if it failed, else
	// the task's KindGeneration error if it ended failed or incomplete,
	// else nil.
	Error *Error
	// Response is the last Response object from the server as raw JSON,
	// nil before there is one.
	Response json.RawMessage
}

// Err returns r.Error as an error, or a nil error (not a typed nil) when
// there is none.
func (r *Result) Err() error {
	if r == nil || r.Error == nil {
		return nil
	}
	return r.Error
}

func nullToNil(m json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(m)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return m
}

func parseResult(doc string) (*Result, error) {
	var raw struct {
		ID         string          `json:"id"`
		Status     string          `json:"status"`
		OutputText *string         `json:"output_text"`
		Usage      json.RawMessage `json:"usage"`
		Error      *Error          `json:"error"`
		Response   json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, &Error{Kind: KindProtocol, Message: fmt.Sprintf("unreadable yc_result document: %v", err)}
	}
	st, ok := ParseStatus(raw.Status)
	if !ok || st == StatusError {
		return nil, &Error{Kind: KindProtocol, Message: fmt.Sprintf("yc_result document has unknown status %q", raw.Status)}
	}
	r := &Result{
		ID:       raw.ID,
		Status:   st,
		Usage:    nullToNil(raw.Usage),
		Error:    raw.Error,
		Response: nullToNil(raw.Response),
	}
	if raw.OutputText != nil {
		r.OutputText = *raw.OutputText
	}
	return r, nil
}

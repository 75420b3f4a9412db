package ycbg

import (
	"bytes"
	"encoding/json"
	"time"
)

// Config is the client configuration. Every field maps to one key of the C
// ABI's config_json; a nil pointer (or nil/empty Headers) leaves the key out,
// so the library falls back to the environment variable (YC_BASE_URL,
// YC_API_KEY, YC_IAM_TOKEN, YC_FOLDER_ID) or its default. Use the String,
// Int and Bool helpers to set a field, e.g. MaxRetries: ycbg.Int(0).
//
// Validation (unknown combinations, both or no credentials, an unusable
// base_url, credentials over plain http:// to a non-loopback host) is done by
// the library in NewClient and reported as a *Error of kind KindConfig.
type Config struct {
	BaseURL           *string           `json:"base_url,omitempty"`             // default https://ai.api.cloud.yandex.net/v1
	APIKey            *string           `json:"api_key,omitempty"`              // "Authorization: Api-Key <key>"
	IAMToken          *string           `json:"iam_token,omitempty"`            // "Authorization: Bearer <token>"
	FolderID          *string           `json:"folder_id,omitempty"`            // OpenAI-Project; expands model short names
	TimeoutMS         *int              `json:"timeout_ms,omitempty"`           // whole HTTP request, default 600000
	ConnectTimeoutMS  *int              `json:"connect_timeout_ms,omitempty"`   // default 5000
	MaxRetries        *int              `json:"max_retries,omitempty"`          // retries after the first attempt, default 2
	PollIntervalMS    *int              `json:"poll_interval_ms,omitempty"`     // first wait interval, default 500
	MaxPollIntervalMS *int              `json:"max_poll_interval_ms,omitempty"` // ceiling of the wait interval, default 5000
	DataLogging       *bool             `json:"data_logging,omitempty"`         // false sends x-data-logging-enabled: false
	UserAgent         *string           `json:"user_agent,omitempty"`           // default "ycbg/<version>"
	CAFile            *string           `json:"ca_file,omitempty"`              // PEM bundle instead of the system store
	Headers           map[string]string `json:"headers,omitempty"`              // extra request headers
	MaxResponseBytes  *int              `json:"max_response_bytes,omitempty"`   // default 64 MiB
	AllowInsecureHTTP *bool             `json:"allow_insecure_http,omitempty"`  // plain http:// to non-loopback hosts
	// The server honours Idempotency-Key, so a create whose answer was lost
	// may be resent with the same key; default false.
	TrustIdempotencyKey *bool `json:"trust_idempotency_key,omitempty"`
	// "auto" (default: HTTP/2 over TLS by ALPN, HTTP/1.1 over plain http),
	// "1.1", or "2" (over plain http: HTTP/2 with prior knowledge).
	HTTPVersion *string `json:"http_version,omitempty"`
	// HTTP requests the client runs at once (creates, polls, cancels
	// together); default 64, 1..10000.
	MaxInFlight *int `json:"max_in_flight,omitempty"`
	// Fixed pacing of creates / polls per second; 0 (default) is no fixed
	// limit (either kind is still slowed for the whole client after a 429).
	MaxCreatesPerSecond *float64 `json:"max_creates_per_second,omitempty"`
	MaxPollsPerSecond   *float64 `json:"max_polls_per_second,omitempty"`
	// A submitted task not terminal after this long ends with a KindTimeout
	// error; default -1 (none).
	TaskTimeoutMS *int `json:"task_timeout_ms,omitempty"`
}

// JSON returns the config_json document for c: only the fields that are
// set, e.g. {"api_key":"...","max_retries":0}.
func (c Config) JSON() (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return "", err
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

// String returns a pointer to s, for Config fields.
func String(s string) *string { return &s }

// Int returns a pointer to i, for Config fields.
func Int(i int) *int { return &i }

// Float returns a pointer to f, for Config fields.
func Float(f float64) *float64 { return &f }

// Bool returns a pointer to b, for Config fields.
func Bool(b bool) *bool { return &b }

// Millis returns a pointer to d in whole milliseconds (rounded up, so a
// positive duration never becomes 0), for the *MS fields of Config:
// PollIntervalMS: ycbg.Millis(250 * time.Millisecond).
func Millis(d time.Duration) *int {
	ms := d / time.Millisecond
	if d%time.Millisecond > 0 {
		ms++
	}
	return Int(int(ms))
}

// requestJSON builds the minimal request document {"model":..,"input":..}.
func requestJSON(model, input string) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		Model string `json:"model"`
		Input string `json:"input"`
	}{model, input})
	if err != nil {
		return "", err
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

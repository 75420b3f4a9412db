// Package ycbg is the Go binding of libycbg, the ycbg C library for Yandex
// Cloud AI Studio text generation in background mode (Responses API with
// "background": true).
//
// A Client holds configuration and a pool of connections; it is safe for
// concurrent use by any number of goroutines. CreateBackground (or Create)
// submits a request and returns a Task at once; the Task is then polled
// (Poll), waited for (Wait), cancelled (Cancel) and read (Result,
// OutputText):
//
//	client, err := ycbg.NewClient(ycbg.Config{})      // config from YC_* env
//	if err != nil { ... }
//	defer client.Close()
//	task, err := client.Create("yandexgpt", "Hello")
//	if err != nil { ... }
//	defer task.Close()
//	status, err := task.Wait(ctx)
//	text, _ := task.OutputText()
//
// For many tasks, Client.Submit returns a Task without waiting for the
// network; the library's one I/O thread per client drives every submitted
// task, and Task.Done is closed when the task has finished:
//
//	task, err := client.Submit(`{"model":"yandexgpt","input":"Hello"}`)
//	<-task.Done()
//	status, err := task.Wait(ctx) // the outcome, at once
//
// # Errors
//
// Every error that comes from the library is a *Error (use errors.As) whose
// Kind is one of the ErrorKind constants. Calling a method of a Client or
// Task after Close returns a *Error of kind KindInvalidArgument that also
// matches errors.Is(err, ErrClosed). Wait returns ctx.Err() unchanged
// (context.Canceled or context.DeadlineExceeded) when its context ends
// first; see Task.Wait.
//
// # Resources
//
// Client and Task own C handles. Close releases them; it is idempotent and
// safe to call concurrently with itself and with other methods (a handle in
// use by an in-flight call is freed when that call returns). A finalizer
// closes handles that become unreachable without Close, but only as a safety
// net: call Close. A Task keeps its client's connections alive, so a Client
// may be closed before its Tasks.
//
// # Building
//
// The package uses cgo and finds the library with pkg-config (package
// "ycbg"); see README.md.
package ycbg

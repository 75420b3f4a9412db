// Command example runs the ycbg seed workflow: submit one background
// request, poll it every few seconds, print the answer.
//
// Configuration comes from the environment: YC_BASE_URL, YC_API_KEY (or
// YC_IAM_TOKEN), YC_FOLDER_ID; optional YC_MODEL (default "yandexgpt"),
// YC_INPUT (the prompt) and YCBG_POLL_SECONDS (poll interval, default 2).
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"ycbg.local/ycbg"
)

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func pollInterval() (time.Duration, error) {
	s := getenv("YCBG_POLL_SECONDS", "2")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("YCBG_POLL_SECONDS=%q is not a number of seconds >= 0", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func run() error {
	interval, err := pollInterval()
	if err != nil {
		return err
	}
	// An empty Config: base_url, credentials and folder id come from YC_*.
	client, err := ycbg.NewClient(ycbg.Config{})
	if err != nil {
		return err
	}
	defer client.Close()

	model := getenv("YC_MODEL", "yandexgpt")
	input := getenv("YC_INPUT", "Write a short poem about waiting for a background task.")
	task, err := client.Create(model, input)
	if err != nil {
		return err
	}
	defer task.Close()
	fmt.Printf("Task sent: %s\n", task.ID())

	for {
		status, err := task.Poll()
		if err != nil {
			var e *ycbg.Error
			if errors.As(err, &e) && e.Retryable {
				fmt.Printf("Status: %s (retrying: %v)\n", status, err)
				time.Sleep(interval)
				continue
			}
			return err
		}
		fmt.Printf("Status: %s\n", status)
		if status.IsTerminal() {
			if status != ycbg.StatusCompleted {
				r, rerr := task.Result()
				if rerr != nil {
					return rerr
				}
				if r.Error != nil {
					return fmt.Errorf("task ended %s: %w", status, r.Error)
				}
				return fmt.Errorf("task ended %s", status)
			}
			break
		}
		time.Sleep(interval)
	}
	text, err := task.OutputText()
	if err != nil {
		return err
	}
	fmt.Printf("Final response: %s\n", text)
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

package main

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestStopOnSignal: the first signal ends the context; another within the
// debounce is the same stop (timeout -s INT gives the process and its group
// one each); one after it is "now".
func TestStopOnSignal(t *testing.T) {
	sigs := make(chan os.Signal, 4)
	nows := make(chan os.Signal, 4)
	const debounce = time.Second
	ctx := stopOnSignal(context.Background(), sigs, debounce, func(s os.Signal) { nows <- s })
	if ctx.Err() != nil {
		t.Fatal("ended before any signal")
	}
	sigs <- os.Interrupt
	sigs <- os.Interrupt // at once, from the process group
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first signal did not end the context")
	}
	select {
	case s := <-nows:
		t.Fatalf("%v right after the first taken for now", s)
	case <-time.After(2 * debounce):
	}
	sigs <- syscall.SIGTERM
	select {
	case s := <-nows:
		if s != syscall.SIGTERM {
			t.Errorf("now given %v, want the signal that asked", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a signal after the debounce was not taken for now")
	}
}

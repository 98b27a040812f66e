package ingest

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

func TestWaitForBroker(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := gone.Addr().String()
	gone.Close()

	tests := []struct {
		name    string
		brokers []string
		want    string // in the error; "" for none
	}{
		{"broker answers", []string{up.Addr().String()}, ""},
		{"second broker answers", []string{dead, up.Addr().String()}, ""},
		{"none answers", []string{dead}, "no kafka broker of [" + dead + "] answered within kafka.startup_timeout 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Brokers, cfg.StartupTimeout = tt.brokers, 300*time.Millisecond
			began := time.Now()
			err := cfg.WaitForBroker(context.Background(), slog.New(slog.DiscardHandler))
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("WaitForBroker: %v, want %q", err, tt.want)
			}
			if d := time.Since(began); d > 5*time.Second {
				t.Errorf("took %s with a 300ms timeout", d)
			}
		})
	}
}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// WaitForBroker dials the brokers in turn, with TLS and SASL as configured,
// until one answers or kafka.startup_timeout passes. Without it a process
// pointed at the wrong address, or started before its brokers, would sit in
// kafka-go's retries with nothing but warnings, and report itself "starting"
// for ever. A broker that refuses this client (credentials, certificate)
// ends the wait at once: retrying cannot help.
func (c Config) WaitForBroker(ctx context.Context, log *slog.Logger) error {
	dialer, err := c.Dialer()
	if err != nil {
		return err
	}
	if c.StartupTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.StartupTimeout)
		defer cancel()
	}
	began := time.Now()
	backoff := 100 * time.Millisecond
	var lastErr error
	for attempt := 1; ; attempt++ {
		for _, b := range c.Brokers {
			conn, err := dialer.DialContext(ctx, "tcp", b)
			if err == nil {
				conn.Close()
				if attempt > 1 {
					log.Info("kafka broker answered", "broker", b, "waited", time.Since(began).Round(time.Millisecond))
				}
				return nil
			}
			if Refused(err) {
				return fmt.Errorf("kafka broker %s refused this client: %w", b, err)
			}
			lastErr = err
		}
		if attempt == 1 && ctx.Err() == nil {
			log.Warn("no kafka broker answers yet; waiting", "brokers", c.Brokers, "kafka.startup_timeout", c.StartupTimeout, "err", lastErr)
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("no kafka broker of %v answered within kafka.startup_timeout %v (check kafka.brokers and that the brokers are up): %w",
					c.Brokers, c.StartupTimeout, lastErr)
			}
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

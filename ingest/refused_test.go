package ingest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestRefused(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"wrong password", fmt.Errorf("read partitions: %w", kafka.SASLAuthenticationFailed), true},
		{"mechanism not enabled", kafka.UnsupportedSASLMechanism, true},
		{"no rights on the topic", fmt.Errorf("x: %w", kafka.TopicAuthorizationFailed), true},
		{"no rights on the group", kafka.GroupAuthorizationFailed, true},
		{"untrusted certificate", fmt.Errorf("dial: %w", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), true},
		{"broker down", &net.OpError{Op: "dial", Err: fmt.Errorf("connection refused")}, false},
		{"connection cut", io.ErrUnexpectedEOF, false},
		{"slow", context.DeadlineExceeded, false},
		{"leader moving", kafka.NotLeaderForPartition, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := Refused(tt.err); got != tt.want {
			t.Errorf("%s: Refused(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

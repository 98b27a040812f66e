package ingest

import (
	"crypto/tls"
	"errors"

	"github.com/segmentio/kafka-go"
)

// Refused says whether err means the brokers refused this client outright:
// its credentials, its authorisation, or their certificate. Retrying cannot
// help, so a process that meets it at start-up should stop and say so rather
// than wait for a partition that will never be assigned.
func Refused(err error) bool {
	var verify *tls.CertificateVerificationError
	return errors.Is(err, kafka.SASLAuthenticationFailed) ||
		errors.Is(err, kafka.UnsupportedSASLMechanism) ||
		errors.Is(err, kafka.IllegalSASLState) ||
		errors.Is(err, kafka.ClusterAuthorizationFailed) ||
		errors.Is(err, kafka.TopicAuthorizationFailed) ||
		errors.Is(err, kafka.GroupAuthorizationFailed) ||
		errors.As(err, &verify)
}

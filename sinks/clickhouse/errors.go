package clickhouse

import (
	"errors"
	"fmt"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

var (
	// ErrClosed is returned by writes after Close.
	ErrClosed = errors.New("clickhouse: sink closed")
	// ErrInvalidRow is wrapped by a write refused before queueing: a row
	// ClickHouse cannot store as given. Nothing of that call was queued.
	ErrInvalidRow = errors.New("invalid row")
)

// permanentError marks a failure that retrying cannot fix: the schema does not
// match, the data cannot be encoded, access is denied.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err: err} }

// transientCode says whether a server exception is one a later attempt may
// not meet: overload, timeouts, replication and keeper trouble, a server
// shutting down.
func transientCode(code int32) bool {
	switch code {
	case 3, // UNEXPECTED_END_OF_FILE
		32,  // ATTEMPT_TO_READ_AFTER_EOF
		159, // TIMEOUT_EXCEEDED
		160, // TOO_SLOW
		164, // READONLY (replica lost its keeper session)
		173, // CANNOT_ALLOCATE_MEMORY
		202, // TOO_MANY_SIMULTANEOUS_QUERIES
		203, // NO_FREE_CONNECTION
		209, // SOCKET_TIMEOUT
		210, // NETWORK_ERROR
		225, // NO_ZOOKEEPER
		236, // ABORTED
		241, // MEMORY_LIMIT_EXCEEDED
		242, // TABLE_IS_READ_ONLY
		252, // TOO_MANY_PARTS
		279, // ALL_CONNECTION_TRIES_FAILED
		285, // TOO_FEW_LIVE_REPLICAS
		286, // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
		319, // UNKNOWN_STATUS_OF_INSERT
		394, // QUERY_WAS_CANCELLED (server shutting down)
		425, // SYSTEM_ERROR
		439, // CANNOT_SCHEDULE_TASK
		999: // KEEPER_EXCEPTION
		return true
	}
	return false
}

// schemaCode says whether a server exception means the schema is missing or
// out of date.
func schemaCode(code int32) bool {
	switch code {
	case 16, // NO_SUCH_COLUMN_IN_TABLE
		47, // UNKNOWN_IDENTIFIER
		60, // UNKNOWN_TABLE
		81: // UNKNOWN_DATABASE
		return true
	}
	return false
}

// isTransient says whether an insert that failed with err may succeed if
// retried. Server exceptions are judged by code; errors the driver marks as
// permanent (encoding) are not retried; everything else is the network, a
// timeout or a connection pool in trouble, and is retried.
func isTransient(err error) bool {
	if err == nil {
		return false
	}
	var p *permanentError
	if errors.As(err, &p) {
		return false
	}
	var ex *ch.Exception
	if errors.As(err, &ex) {
		return transientCode(ex.Code)
	}
	return true
}

// isSchemaError says whether err means the schema is missing or out of date.
func isSchemaError(err error) bool {
	var ex *ch.Exception
	return errors.As(err, &ex) && schemaCode(ex.Code)
}

// describe adds the fix to an error whose cause is the schema.
func describe(err error) error {
	if isSchemaError(err) {
		return fmt.Errorf("%w (schema missing or out of date: run `trendwatch migrate`)", err)
	}
	return err
}

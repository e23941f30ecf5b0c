package occupancy

import (
	"errors"
	"fmt"
)

// Error codes. They name the kind of failure, not where it happened, so that
// transports (HTTP, MQTT) can map them to their own vocabulary in one place.
const (
	ECONFLICT    = "conflict"    // the action cannot be performed in the current state
	EINTERNAL    = "internal"    // a failure the caller cannot fix (a bug, a corrupt value)
	EINVALID     = "invalid"     // the input is malformed or out of range
	ENOTFOUND    = "not_found"   // the entity does not exist
	EUNAVAILABLE = "unavailable" // the store is down or too slow: try again shortly
)

// Error is an application error: a code from the list above and a message
// meant for the person or program that sent the input.
type Error struct {
	Code    string
	Message string
	// Err is the failure behind it, for logs only (never shown to a
	// client); nil for most errors.
	Err error
}

// Error implements the error interface; it includes Err.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("occupancy error: code=%s message=%s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("occupancy error: code=%s message=%s", e.Code, e.Message)
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Unavailable returns an EUNAVAILABLE error for cause, a store that did
// not answer (down, refusing connections, or slower than the caller's
// deadline). The message is the same for every cause; cause goes to logs.
func Unavailable(cause error) *Error {
	return &Error{Code: EUNAVAILABLE, Message: "the live state is unavailable for a moment; try again shortly", Err: cause}
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic message for any other error, so internal details never leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

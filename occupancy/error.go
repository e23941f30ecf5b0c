package occupancy

import (
	"errors"
	"fmt"
)

// Error codes. They name the kind of failure, not where it happened, so that
// transports (HTTP, MQTT) can map them to their own vocabulary in one place.
const (
	ECONFLICT = "conflict"  // the action cannot be performed in the current state
	EINTERNAL = "internal"  // a failure the caller cannot fix (Redis down, bug)
	EINVALID  = "invalid"   // the input is malformed or out of range
	ENOTFOUND = "not_found" // the entity does not exist
)

// Error is an application error: a code from the list above and a message
// meant for the person or program that sent the input.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("occupancy error: code=%s message=%s", e.Code, e.Message)
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

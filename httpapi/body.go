package httpapi

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/qiuai/parking/occupancy"
)

// Error codes of request bodies.
const (
	eTooLarge         = "too_large"              // 413: the body is over Options.MaxBodyBytes
	eUnsupportedMedia = "unsupported_media_type" // 415: a body that is not application/json
)

// errEmptyBody is readJSON's answer to an empty body.
var errEmptyBody = errors.New("httpapi: empty body")

// readJSON decodes the request body into v: exactly one JSON value, with
// no field v does not know and nothing after it, sent as
// application/json (a charset parameter is allowed). An empty body
// returns errEmptyBody, whatever its content type, for the caller to
// accept or refuse. Every other error is for the client: 415 for another
// content type, 413 for a body over the limit (bodyLimitMiddleware), 400
// for anything else, each naming what is wrong.
func readJSON(c *gin.Context, v any) error {
	if c.Request.Body == nil {
		return errEmptyBody
	}
	br := bufio.NewReader(c.Request.Body)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return errEmptyBody
	} else if err != nil {
		return bodyError(err)
	}
	ct := c.GetHeader("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return occupancy.Errorf(eUnsupportedMedia, "the body must be JSON with Content-Type application/json, not %q",
			truncate(ct, maxParamLen))
	}
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	var tooLarge *http.MaxBytesError
	switch _, err := dec.Token(); {
	case errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &tooLarge):
		return bodyError(err)
	}
	return occupancy.Errorf(occupancy.EINVALID, "body: more data after the JSON value")
}

// bodyError turns a failure to read or decode a body into the client's
// error: 413 for a body over the limit, 400 otherwise.
func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return occupancy.Errorf(eTooLarge, "the body is larger than %d bytes", tooLarge.Limit)
	}
	return occupancy.Errorf(occupancy.EINVALID, "body: %s", truncate(err.Error(), 200))
}

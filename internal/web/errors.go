package web

import (
	"errors"

	"github.com/credmesh/credmesh/internal/api"
	"log/slog"
	"net/http"
)

// httpError is an error that already knows its status code.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func BadRequest(msg string) error { return &httpError{http.StatusBadRequest, msg} }

// StatusOf maps an error to its HTTP status. It is the one place where
// errors become status codes; the CLI maps them back to exit codes.
func StatusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.code
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, api.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, api.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, api.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, api.ErrForbidden):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// writeError answers with the error as JSON. Server errors are logged.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	code := StatusOf(err)
	if code >= 500 && log != nil {
		log.Error("request failed", "err", err)
	}
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

package main

import (
	"fmt"
	"net/http"
	"regexp"
)

// instanceHeader is the response header naming the instance that answered, when
// PAYDESK_INSTANCE is set: behind a load balancer it tells which instance served a
// request (docs/deployment.md). It names a machine, nothing secret.
const instanceHeader = "Paydesk-Instance"

// instanceName is what PAYDESK_INSTANCE may hold: a short name fit for a header.
var instanceName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// checkInstance checks a PAYDESK_INSTANCE value ("" is none).
func checkInstance(name string) error {
	if name != "" && !instanceName.MatchString(name) {
		return fmt.Errorf("PAYDESK_INSTANCE=%q: use up to 64 letters, digits, dots, dashes or underscores", name)
	}
	return nil
}

// withInstance adds the instance header to every response of h (none when name is "").
func withInstance(name string, h http.Handler) http.Handler {
	if name == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(instanceHeader, name)
		h.ServeHTTP(w, r)
	})
}

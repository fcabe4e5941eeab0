// Package api is the JSON API's vocabulary and its client: the request and
// response types served under /api/v1 (on the control socket and the web
// listener) and a Client that the CLI uses over the control socket.
//
// api imports only the standard library. web (the server) and cli (the
// client) import it.
package api

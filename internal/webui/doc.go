// Package webui serves credmesh's web UI: server-rendered HTML pages from
// the embedded templates/ and static/. Pages read through web.API's
// queries and change things only through its interfaces, and only on
// POST; every route sits behind web.Guard. The rendered pages are
// compared with testdata/golden (rewrite with go test ./internal/webui
// -update).
//
// webui imports web, api, record and replica, never an actor's package;
// the node package constructs the UI and hands its handler to
// web.WebServer.
package webui

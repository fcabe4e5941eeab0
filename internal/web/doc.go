// Package web serves credmesh's JSON API and /metrics, and guards the web
// listener. The API is served on the control socket (mode 0600) by the
// ControlServer actor, for the CLI; the API, /metrics and the HTML pages
// (package webui) on the web listener by the WebServer actor, behind the
// Guard: a Host allowlist, cross-origin protection and a login on every
// route.
//
// web reads the store directly and reaches other actors only through the
// small interfaces it declares (Backend); the node package wires them.
// It imports api, store and actor, never another actor's package.
package web

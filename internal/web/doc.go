// Package web serves credmesh's JSON API (and, from the web UI issue on,
// its HTML pages). The API is served on the control socket by the
// ControlServer actor and on the web listener.
//
// web reads the store directly and reaches other actors only through the
// small interfaces it declares (Backend); the node package wires them.
// It imports api, store and actor, never another actor's package.
package web

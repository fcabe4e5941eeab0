// Package crashpoint kills the process at named points, so the crash
// harness (internal/e2e) can test recovery from a crash exactly where one
// hurts most, such as between a store write and its commit.
//
// The points exist only in a binary built with -tags crashpoints: there,
// CREDMESH_CRASH_AT=NAME kills the process with SIGKILL the first time
// Here(NAME) runs, NAME@N the N-th time. In every other build (a release
// build included) Here is an empty function the compiler removes, so no
// environment variable can make a release binary kill itself; a test in
// internal/e2e checks the release binary's symbol table for it.
package crashpoint

// Package crashpoint kills the process at named points, for the crash
// harness: CREDMESH_CRASH_AT=NAME kills it the first time Here(NAME) runs,
// NAME@N the N-th time. Unset (always, outside tests), Here is one atomic
// load.
package crashpoint

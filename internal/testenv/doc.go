// Package testenv decides what a test does when this machine cannot give
// it what it needs, so that a skipped test always says why and never
// hides a failure in CI.
//
// Two kinds of test do not run everywhere:
//
//   - [Need]: a test that needs something the machine may lack (root,
//     systemd-creds, chromium, network namespaces). It skips with the
//     reason on a developer's machine; under CI (CI=true, which .ci/run
//     sets after installing everything the suite needs) it fails, because
//     there a missing tool is a broken CI, not a reason to pass.
//   - [Long]: a harness too long for the quick tier. It skips under
//     `go test -short` with the reason and runs otherwise (the README's
//     ./scripts/test and CI run every test).
//
// Only test files import testenv; no package of the daemon may.
package testenv

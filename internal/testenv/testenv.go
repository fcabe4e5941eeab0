package testenv

import (
	"os"
	"strconv"
	"testing"
)

// CI reports whether the tests run in CI: the CI environment variable
// holds a true value ("true" or "1", as .ci/run and common CI services
// set it).
func CI() bool {
	ok, _ := strconv.ParseBool(os.Getenv("CI"))
	return ok
}

// Need stops t because something it needs is missing here, named by
// reason ("systemd-creds is not installed"): t.Skip on a developer's
// machine, t.Fatal under CI, where everything the suite needs is there.
func Need(t testing.TB, reason string) {
	t.Helper()
	if CI() {
		t.Fatalf("CI must run this test, but: %s (CI=true; .ci/run installs what tests need)", reason)
	}
	t.Skip("skipped: " + reason + " (CI installs it and fails instead of skipping)")
}

// Long skips t under -short with reason (what makes it long); without
// -short it returns and t runs.
func Long(t testing.TB, reason string) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped with -short: " + reason + " (./scripts/test runs it)")
	}
}

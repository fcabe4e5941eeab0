package crashpoint

// Env is the variable that arms a crash point in a binary built with
// -tags crashpoints.
const Env = "CREDMESH_CRASH_AT"

// Named points.
const (
	StoreBeforeCommit  = "store-before-commit"  // a write transaction is done, not committed
	StoreAfterCommit   = "store-after-commit"   // committed, nobody told yet
	CredentialRenaming = "credential-renaming"  // the temporary credential file is written, not renamed
	AntiEntropyMidPull = "antientropy-mid-pull" // a pulled batch is applied, the cursor not advanced
)

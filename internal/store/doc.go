// Package store is credmesh's SQLite database: embedded numbered
// migrations, the replicated records and their views, trust and peer
// state, and the audit log.
//
// The database runs in WAL mode with a busy timeout, synchronous=FULL and
// foreign keys on; UpdateRelaxed commits at synchronous=NORMAL, for what
// peers can send again. Writes go through one connection in IMMEDIATE
// transactions; reads use a small pool of their own. Every exported method
// is one transaction. Open checks the file with PRAGMA quick_check and
// applies pending migrations in one transaction.
//
// store imports the standard library and the SQLite driver, which no other
// package imports. Actors and the composition root call it directly; it is
// not an actor.
package store

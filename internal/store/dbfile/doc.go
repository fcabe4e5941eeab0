// Package dbfile is the SQLite file beneath the store: the connection
// string for each kind of pool (the one writer, the daemon's readers, a
// read-only open beside the daemon), the integrity check run at open, and
// the embedded, numbered migrations (migrations/NNNN_what.sql) that bring
// the schema up to the version this build creates.
//
// It knows nothing of records or queries: it hands the store a database
// with the right schema, and the store owns every statement run on it.
// It imports only the standard library; store imports it, never the other
// way round.
package dbfile

package store

import "testing"

// The readers run with a smaller page cache than the writer, which keeps
// SQLite's default (-2000: 2,000 KiB).
func TestReaderCacheSize(t *testing.T) {
	s := openTest(t)
	var r, w int
	if err := s.r.QueryRowContext(t.Context(), "PRAGMA cache_size").Scan(&r); err != nil {
		t.Fatal(err)
	}
	if err := s.w.QueryRowContext(t.Context(), "PRAGMA cache_size").Scan(&w); err != nil {
		t.Fatal(err)
	}
	if r != -512 || w != -2000 {
		t.Fatalf("cache_size: readers %d, writer %d; want -512 and -2000", r, w)
	}
}

package store

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestRelaxedAndDurableCommits checks that every transaction runs at the
// safety level it asked for, also with both kinds racing for the one
// writer connection, and that relaxed commits are stored like any other.
func TestRelaxedAndDurableCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				durable := (g+i)%2 == 0
				want := 1 // NORMAL
				if durable {
					want = 2 // FULL
				}
				err := s.writeSync(t.Context(), durable, func(tx *txw) error {
					var level int
					if err := tx.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&level); err != nil {
						return err
					}
					if level != want {
						return fmt.Errorf("durable=%v ran at synchronous=%d, want %d", durable, level, want)
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				if !durable {
					err = s.UpdateRelaxed(t.Context(), func(tx *Tx) error {
						return tx.AddEvent(Event{Type: "t", Message: fmt.Sprint(g, i)})
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.CountEvents(t.Context()); err != nil || n != 40 {
		t.Fatalf("after reopen: %d events (%v), want the 40 written relaxed", n, err)
	}
}

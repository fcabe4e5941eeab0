package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credmesh/credmesh/internal/store/dbfile"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenAppliesMigrationsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	for i := range 2 {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var v int
		if err := s.r.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != dbfile.Version() || v < 1 {
			t.Fatalf("user_version %d, want %d", v, dbfile.Version())
		}
		var mode string
		_ = s.w.QueryRow("PRAGMA journal_mode").Scan(&mode)
		var sync, fk int
		_ = s.w.QueryRow("PRAGMA synchronous").Scan(&sync)
		_ = s.w.QueryRow("PRAGMA foreign_keys").Scan(&fk)
		if mode != "wal" || sync != 2 || fk != 1 {
			t.Fatalf("journal_mode=%s synchronous=%d foreign_keys=%d, want wal 2 (FULL) 1", mode, sync, fk)
		}
		s.Close()
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.w.Exec(fmt.Sprintf("PRAGMA user_version = %d", dbfile.Version()+5))
	s.Close()
	_, err = Open(t.Context(), path)
	if err == nil || !strings.Contains(err.Error(), "newer than this build supports") {
		t.Fatalf("Open = %v, want a newer-schema error", err)
	}
}

func TestOpenDetectsCorruption(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		if err := s.AddEvent(t.Context(), Event{Type: "test", Message: strings.Repeat("x", 200) + fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Scribble over pages in the middle of the file (past the header).
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	junk := []byte(strings.Repeat("\xff\x00garbage", 512))
	for off := int64(8192); off < fi.Size()-int64(len(junk)); off += 16384 {
		_, _ = f.WriteAt(junk, off)
	}
	f.Close()
	_, err = Open(t.Context(), path)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open(corrupt) = %v, want ErrCorrupt", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	_ = os.WriteFile(path, []byte(strings.Repeat("this is not sqlite ", 100)), 0o600)
	_, err := Open(t.Context(), path)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open(not a db) = %v, want ErrCorrupt", err)
	}
}

func TestEvents(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	base := time.UnixMilli(1_800_000_000_000)
	for i, e := range []Event{
		{Type: EventNodeStart, Node: "n1", Message: "started"},
		{Type: "secret.created", Node: "n1", Secret: "db", Message: "created", Data: json.RawMessage(`{"version":1}`)},
		{Type: "secret.created", Node: "n2", Secret: "api", Message: "created"},
		{Type: EventNodeStop, Node: "n1", Message: "stopped"},
	} {
		e.Time = base.Add(time.Duration(i) * time.Second)
		if err := s.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(es []Event) []int64 {
		var out []int64
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    EventFilter
		want []int64
	}{
		{"all newest first", EventFilter{}, []int64{4, 3, 2, 1}},
		{"by type", EventFilter{Type: "secret.created"}, []int64{3, 2}},
		{"by node", EventFilter{Node: "n1"}, []int64{4, 2, 1}},
		{"by secret", EventFilter{Secret: "db"}, []int64{2}},
		{"page 1", EventFilter{Limit: 2}, []int64{4, 3}},
		{"page 2", EventFilter{Limit: 2, Before: 3}, []int64{2, 1}},
		{"combined", EventFilter{Node: "n1", Type: "secret.created"}, []int64{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Events(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
				t.Fatalf("ids (-want +got):\n%s", diff)
			}
		})
	}
	got, _ := s.Events(ctx, EventFilter{Secret: "db"})
	want := Event{ID: 2, Time: base.Add(time.Second), Type: "secret.created", Node: "n1", Secret: "db", Message: "created", Data: json.RawMessage(`{"version":1}`)}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Fatalf("event (-want +got):\n%s", diff)
	}
	if n, err := s.CountEvents(ctx); err != nil || n != 4 {
		t.Fatalf("CountEvents = %d, %v", n, err)
	}
}

func TestEventLimits(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	long := strings.Repeat("é", maxEventMessage) // 2 bytes each: cut mid-rune
	if err := s.AddEvent(ctx, Event{Type: "t", Message: long, Data: json.RawMessage(`{not json`)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(ctx, EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	e := got[0]
	if len(e.Message) > maxEventMessage+3 || !strings.HasSuffix(e.Message, "...") || !json.Valid([]byte(`"`+e.Message+`"`)) {
		t.Errorf("long message stored as %d bytes %q...", len(e.Message), e.Message[:10])
	}
	if string(e.Data) != `{"bytes":9,"truncated":true}` {
		t.Errorf("invalid data stored as %s", e.Data)
	}
}

func TestReadOnlyBesideWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	w, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_ = w.AddEvent(t.Context(), Event{Type: "t", Message: "one"})
	r, err := OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Events(t.Context(), EventFilter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("read-only Events = %v, %v", got, err)
	}
	if err := r.AddEvent(t.Context(), Event{Type: "t", Message: "two"}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("AddEvent on read-only = %v, want ErrReadOnly", err)
	}
	if _, err := OpenReadOnly(t.Context(), filepath.Join(t.TempDir(), "missing.db")); err == nil {
		t.Fatal("OpenReadOnly of a missing file succeeded")
	}
}

func TestConcurrentWritersAndReaders(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := s.AddEvent(ctx, Event{Type: "t", Message: fmt.Sprint(w, i)}); err != nil {
					errs <- err
					return
				}
				if _, err := s.Events(ctx, EventFilter{Limit: 5}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, _ := s.CountEvents(ctx); n != 200 {
		t.Fatalf("%d events, want 200", n)
	}
}

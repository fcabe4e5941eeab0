package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/credmesh/credmesh/internal/bench"
	"github.com/credmesh/credmesh/internal/credwriter"
	"github.com/credmesh/credmesh/internal/credwriter/hostkey"
)

// runEncrypt times each credential writer on this machine, one after
// the other, with its host secret and its systemd: in process with the
// host key, systemd's varlink service (one connection, as the daemon
// keeps it; systemd 256+), and a spawned systemd-creds. Root only.
func runEncrypt(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("encrypt", flag.ExitOnError)
	writers := fs.String("writer", credwriter.WriterHost+",varlink,"+credwriter.WriterSystemdCreds, "writers to time, in order")
	n := fs.Int("n", 1000, "credentials per writer")
	size := fs.Int("size", 64, "plaintext bytes")
	_ = fs.Parse(args)
	plain := make([]byte, *size)
	for i := range plain {
		plain[i] = byte('a' + i%26)
	}
	fmt.Printf("%-14s %6s %9s %9s %9s %9s   (ms, encryption only)\n", "writer", "n", "p50", "p90", "p99", "max")
	for _, w := range strings.Split(*writers, ",") {
		var r credwriter.Runner
		switch w {
		case credwriter.WriterHost:
			r = &credwriter.InProcess{Path: hostkey.DefaultPath}
		case "varlink":
			r = &credwriter.Varlink{}
		case credwriter.WriterSystemdCreds:
			r = credwriter.SystemdCreds{}
		default:
			return fmt.Errorf("-writer %q: want %s, varlink or %s", w, credwriter.WriterHost, credwriter.WriterSystemdCreds)
		}
		// The first call opens what the rest reuse (the key, the
		// connection), as in a running daemon.
		if _, err := r.Encrypt(ctx, "bench", plain); err != nil {
			return fmt.Errorf("%s: %w", w, err)
		}
		ds := make([]time.Duration, 0, *n)
		for range *n {
			begin := time.Now()
			if _, err := r.Encrypt(ctx, "bench", plain); err != nil {
				return fmt.Errorf("%s: %w", w, err)
			}
			ds = append(ds, time.Since(begin))
		}
		l := bench.Summarize(ds)
		fmt.Printf("%-14s %6d %9.3f %9.3f %9.3f %9.3f\n", w, *n, l.P50, l.P90, l.P99, l.Max)
	}
	return nil
}

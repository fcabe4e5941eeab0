package sysinfo

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credmesh/credmesh/internal/actor"
	"github.com/credmesh/credmesh/internal/record"
)

// Collect reads this machine for real.
func TestCollectThisMachine(t *testing.T) {
	s := Collect(context.Background(), time.Now())
	if s.MemTotal == 0 || s.Uptime == 0 {
		t.Errorf("memory total %d, uptime %v: want both set", s.MemTotal, s.Uptime)
	}
	var lo bool
	for _, i := range s.Interfaces {
		if i.Name == "lo" {
			lo = true
		}
	}
	if !lo {
		t.Errorf("interfaces %+v lack lo", s.Interfaces)
	}
	for _, d := range s.Disks {
		if d.Total == 0 || d.Used > d.Total || pseudoFS[d.FSType] {
			t.Errorf("disk %+v", d)
		}
	}
	// What it collects always fits the record's limits.
	if _, err := record.DecodeSysinfo(s.Encode()); err != nil {
		t.Fatalf("collected snapshot does not round-trip: %v", err)
	}
}

type publisher struct {
	mu   sync.Mutex
	sent []record.Sysinfo
}

func (p *publisher) PublishSysinfo(_ context.Context, body []byte) error {
	s, err := record.DecodeSysinfo(body)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.sent = append(p.sent, s)
	p.mu.Unlock()
	return nil
}

func (p *publisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sent)
}

// The actor publishes at start, then only on material changes (at once
// for interface changes, at the next full collection for usage), and at
// least every refreshEvery. Collections come from a scripted source.
func TestPublishesOnChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		snap := record.Sysinfo{MemTotal: 1000, MemUsed: 100, Load1: 1000,
			Interfaces: []record.Interface{{Name: "eth0", Addrs: []string{"10.0.0.1/24"}}},
			Disks:      []record.Disk{{Mountpoint: "/", Total: 1000, Used: 100}}}
		set := func(f func(*record.Sysinfo)) { mu.Lock(); f(&snap); mu.Unlock() }
		pub := &publisher{}
		a := New(Config{Publisher: pub, Log: slog.New(slog.DiscardHandler), Interval: time.Minute, ShapeCheck: 5 * time.Second,
			Collect: func(context.Context, time.Time) record.Sysinfo {
				mu.Lock()
				defer mu.Unlock()
				c := snap
				c.Interfaces = append([]record.Interface(nil), snap.Interfaces...)
				return c
			}})
		sup := actor.NewSupervisor(slog.New(slog.DiscardHandler))
		if _, err := actor.Spawn[Msg](sup, "sysinfo", a, 8); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- sup.Run(ctx) }()
		synctest.Wait()
		if n := pub.count(); n != 1 {
			t.Fatalf("%d publishes at start, want 1", n)
		}
		// Noise (memory up by less than 5%) is not material.
		set(func(s *record.Sysinfo) { s.MemUsed = 120 })
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		if n := pub.count(); n != 1 {
			t.Fatalf("%d publishes after noise, want 1", n)
		}
		// A new address is published within one shape check.
		set(func(s *record.Sysinfo) { s.Interfaces[0].Addrs = []string{"10.0.0.2/24"} })
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := pub.count(); n != 2 {
			t.Fatalf("%d publishes after an address change, want 2", n)
		}
		// Disk usage is published at the next full collection.
		set(func(s *record.Sysinfo) { s.Disks[0].Used = 500 })
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := pub.count(); n != 3 {
			t.Fatalf("%d publishes after disk usage changed, want 3", n)
		}
		// A load wavering around 1.0 is not a change, however often it
		// crosses the unit; a load gone from 1 to 3 is.
		for _, l := range []uint64{900, 1100, 950, 1300, 800} {
			set(func(s *record.Sysinfo) { s.Load1 = l })
			time.Sleep(time.Minute)
			synctest.Wait()
		}
		if n := pub.count(); n != 3 {
			t.Fatalf("%d publishes while the load wavered, want 3", n)
		}
		set(func(s *record.Sysinfo) { s.Load1 = 3000 })
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := pub.count(); n != 4 {
			t.Fatalf("%d publishes after the load rose to 3, want 4", n)
		}
		// Nothing changes for a long time: refreshed every refreshEvery.
		time.Sleep(refreshEvery + time.Minute)
		synctest.Wait()
		if n := pub.count(); n != 5 {
			t.Fatalf("%d publishes after %v of quiet, want 5", n, refreshEvery)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

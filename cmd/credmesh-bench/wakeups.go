package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"runtime"
	"syscall"
	"time"
)

// runWakeups measures what waking up costs a Go process on this machine,
// the floor under any idle daemon: one P (as `credmesh run` takes), a
// ticker sending a UDP datagram to itself -rate times a second and a
// goroutine receiving it, nothing else. It prints the process's CPU
// (user + system, from getrusage) over the window and per datagram.
func runWakeups(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("wakeups", flag.ExitOnError)
	rate := fs.Int("rate", 50, "datagrams per second")
	window := fs.Duration("window", 30*time.Second, "measuring window")
	_ = fs.Parse(args)
	if *rate <= 0 {
		return fmt.Errorf("-rate %d: want at least 1", *rate)
	}
	runtime.GOMAXPROCS(1)
	rx, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer rx.Close()
	tx, err := net.Dial("udp", rx.LocalAddr().String())
	if err != nil {
		return err
	}
	defer tx.Close()
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, 64)
		n := 0
		for {
			if _, _, err := rx.ReadFrom(buf); err != nil {
				got <- n
				return
			}
			n++
		}
	}()
	t := time.NewTicker(time.Second / time.Duration(*rate))
	defer t.Stop()
	time.Sleep(time.Second) // settle
	before, begin := cpuTime(), time.Now()
	end := time.After(*window)
	sent := 0
loop:
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end:
			break loop
		case <-t.C:
			if _, err := tx.Write([]byte("x")); err != nil {
				return err
			}
			sent++
		}
	}
	cpu, wall := cpuTime()-before, time.Since(begin)
	rx.Close()
	fmt.Printf("%d datagrams/s for %v (%d sent, %d received), one P: CPU %.3f %% of a core, %.0f µs per datagram (send + receive)\n",
		*rate, wall.Round(time.Second), sent, <-got, 100*cpu.Seconds()/wall.Seconds(), float64(cpu.Microseconds())/float64(max(sent, 1)))
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

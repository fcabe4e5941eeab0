package actor

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// msg is the test actors' message type: either a value to record, a
// request for the recorded values, or an instruction to block or fail.
type msg struct {
	val   int
	get   chan<- []int
	block chan struct{} // wait on it before returning
	fail  error
	panic string
}

type recorder struct {
	mu       sync.Mutex
	seen     []int
	pokes    int
	started  bool
	stopped  bool
	startErr error
	stopWait bool // PostStop blocks until its ctx ends
	run      func(ctx context.Context) error
}

func (r *recorder) PreStart(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = true
	return r.startErr
}

func (r *recorder) Handle(ctx context.Context, m msg) error {
	if m.block != nil {
		<-m.block
	}
	if m.panic != "" {
		panic(m.panic)
	}
	if m.fail != nil {
		return m.fail
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.get != nil {
		m.get <- append([]int(nil), r.seen...)
		return nil
	}
	r.seen = append(r.seen, m.val)
	return nil
}

func (r *recorder) HandlePoke(ctx context.Context) error {
	r.mu.Lock()
	r.pokes++
	r.mu.Unlock()
	return nil
}

func (r *recorder) PostStop(ctx context.Context) error {
	if r.stopWait {
		<-ctx.Done()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	return nil
}

func (r *recorder) state() (started, stopped bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started, r.stopped
}

type runner struct {
	recorder
}

func (r *runner) Run(ctx context.Context) error { return r.run(ctx) }

// testLog returns a logger writing into buf (for assertions) and t.Log.
func testLog(t *testing.T) (*slog.Logger, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs sup in the background and returns a stop function that
// cancels it and returns Run's result.
func start(t *testing.T, sup *Supervisor) (stop func() error, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan error, 1)
	go func() { ch <- sup.Run(ctx) }()
	synctest.Wait()
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() { cancel(); err = <-ch })
		return err
	}, ch
}

func TestCastAndCallInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, _ := testLog(t)
		sup := NewSupervisor(log)
		rec := &recorder{}
		ref, err := Spawn[msg](sup, "rec", rec, 8)
		if err != nil {
			t.Fatal(err)
		}
		stop, _ := start(t, sup)
		for i := 1; i <= 3; i++ {
			if err := ref.Cast(msg{val: i}); err != nil {
				t.Fatalf("Cast(%d): %v", i, err)
			}
		}
		got, err := Call(t.Context(), ref, func(reply chan<- []int) msg { return msg{get: reply} })
		if err != nil {
			t.Fatalf("Call: %v", err)
		}
		if want := []int{1, 2, 3}; !equalInts(got, want) {
			t.Fatalf("handled %v, want %v", got, want)
		}
		if err := stop(); err != nil {
			t.Fatalf("Run after cancel = %v, want nil", err)
		}
		if started, stopped := rec.state(); !started || !stopped {
			t.Fatalf("started=%v stopped=%v, want both", started, stopped)
		}
	})
}

func TestFullMailboxIsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, _ := testLog(t)
		sup := NewSupervisor(log)
		ref, _ := Spawn[msg](sup, "rec", &recorder{}, 2)
		stop, _ := start(t, sup)
		release := make(chan struct{})
		if err := ref.Cast(msg{val: 7, block: release}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the handler holds the first message
		for i := range 2 {
			if err := ref.Cast(msg{val: i}); err != nil {
				t.Fatalf("Cast %d into a mailbox with room: %v", i, err)
			}
		}
		err := ref.Cast(msg{val: 99})
		if !errors.Is(err, ErrMailboxFull) {
			t.Fatalf("Cast into full mailbox = %v, want ErrMailboxFull", err)
		}
		if !strings.Contains(err.Error(), "rec") {
			t.Errorf("error %q does not name the actor", err)
		}
		_, err = Call(t.Context(), ref, func(reply chan<- []int) msg { return msg{get: reply} })
		if !errors.Is(err, ErrMailboxFull) {
			t.Fatalf("Call into full mailbox = %v, want ErrMailboxFull", err)
		}
		close(release)
		synctest.Wait()
		got, err := Call(t.Context(), ref, func(reply chan<- []int) msg { return msg{get: reply} })
		if err != nil || !equalInts(got, []int{7, 0, 1}) {
			t.Fatalf("after draining: got %v, %v; want [7 0 1] (99 must not have been delivered)", got, err)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCallContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, _ := testLog(t)
		sup := NewSupervisor(log)
		ref, _ := Spawn[msg](sup, "rec", &recorder{}, 4)
		stop, _ := start(t, sup)
		release := make(chan struct{})
		_ = ref.Cast(msg{block: release})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		begin := time.Now()
		_, err := Call(ctx, ref, func(reply chan<- []int) msg { return msg{get: reply} })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Call = %v, want DeadlineExceeded", err)
		}
		if waited := time.Since(begin); waited != time.Second {
			t.Fatalf("Call waited %v, want exactly the 1s deadline", waited)
		}
		close(release)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStoppedActor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, _ := testLog(t)
		sup := NewSupervisor(log)
		ref, _ := Spawn[msg](sup, "rec", &recorder{}, 4)
		stop, _ := start(t, sup)
		release := make(chan struct{})
		_ = ref.Cast(msg{block: release})
		synctest.Wait()
		// A Call queued behind the blocked message is pending when the
		// actor stops: it must end with ErrStopped, not hang.
		callErr := make(chan error, 1)
		go func() {
			_, err := Call(context.Background(), ref, func(reply chan<- []int) msg { return msg{get: reply} })
			callErr <- err
		}()
		synctest.Wait()
		stopErr := make(chan error, 1)
		go func() { stopErr <- stop() }()
		synctest.Wait()
		close(release)
		if err := <-stopErr; err != nil {
			t.Fatal(err)
		}
		if err := <-callErr; !errors.Is(err, ErrStopped) {
			t.Fatalf("pending Call = %v, want ErrStopped", err)
		}
		if err := ref.Cast(msg{val: 1}); !errors.Is(err, ErrStopped) {
			t.Fatalf("Cast after stop = %v, want ErrStopped", err)
		}
		if _, err := Lookup[msg](sup.Registry(), "rec"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Lookup after stop = %v, want ErrNotFound", err)
		}
	})
}

func TestPanicStopsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, buf := testLog(t)
		sup := NewSupervisor(log)
		other := &recorder{}
		_, _ = Spawn[msg](sup, "other", other, 4)
		bad, _ := Spawn[msg](sup, "bad", &recorder{}, 4)
		_, done := start(t, sup)
		if err := bad.Cast(msg{panic: "boom"}); err != nil {
			t.Fatal(err)
		}
		err := <-done
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Name != "bad" || pe.Value != "boom" {
			t.Fatalf("Run = %v, want a PanicError from bad with value boom", err)
		}
		if _, stopped := other.state(); !stopped {
			t.Error("the other actor was not stopped")
		}
		logs := buf.String()
		if !strings.Contains(logs, "panic=boom") || !strings.Contains(logs, "actor_test.go") {
			t.Errorf("panic not logged with its stack:\n%s", logs)
		}
	})
}

func TestErrorFromHandleOrRunStopsEverything(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		mk   func() (Actor[msg], func(Ref[msg]))
	}{
		{"handle", func() (Actor[msg], func(Ref[msg])) {
			return &recorder{}, func(r Ref[msg]) { _ = r.Cast(msg{fail: boom}) }
		}},
		{"run", func() (Actor[msg], func(Ref[msg])) {
			trigger := make(chan struct{})
			a := &runner{recorder{run: func(ctx context.Context) error {
				select {
				case <-trigger:
					return boom
				case <-ctx.Done():
					return nil
				}
			}}}
			return a, func(Ref[msg]) { close(trigger) }
		}},
		{"task panic", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log, _ := testLog(t)
				sup := NewSupervisor(log)
				other := &recorder{}
				_, _ = Spawn[msg](sup, "other", other, 4)
				var kick func(Ref[msg])
				var ref Ref[msg]
				if tc.mk != nil {
					var a Actor[msg]
					a, kick = tc.mk()
					ref, _ = Spawn(sup, "bad", a, 4)
				} else {
					trigger := make(chan struct{})
					sup.Go("bad", func(ctx context.Context) error {
						<-trigger
						panic("task boom")
					})
					kick = func(Ref[msg]) { close(trigger) }
				}
				_, done := start(t, sup)
				kick(ref)
				err := <-done
				if err == nil || !strings.Contains(err.Error(), "bad") {
					t.Fatalf("Run = %v, want an error naming bad", err)
				}
				if tc.mk != nil && !errors.Is(err, boom) {
					t.Fatalf("Run = %v, want it to wrap boom", err)
				}
				if _, stopped := other.state(); !stopped {
					t.Error("the other actor was not stopped")
				}
			})
		})
	}
}

func TestPreStartFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, _ := testLog(t)
		sup := NewSupervisor(log)
		first, second, third := &recorder{}, &recorder{startErr: errors.New("no disk")}, &recorder{}
		_, _ = Spawn[msg](sup, "first", first, 1)
		_, _ = Spawn[msg](sup, "second", second, 1)
		ref3, _ := Spawn[msg](sup, "third", third, 1)
		err := sup.Run(t.Context())
		if err == nil || !strings.Contains(err.Error(), "start second: no disk") {
			t.Fatalf("Run = %v, want start second: no disk", err)
		}
		if _, stopped := first.state(); !stopped {
			t.Error("first was started but not stopped")
		}
		if started, _ := third.state(); started {
			t.Error("third was started after second failed")
		}
		if err := ref3.Cast(msg{}); !errors.Is(err, ErrStopped) {
			t.Errorf("Cast to never-started actor = %v, want ErrStopped", err)
		}
	})
}

func TestStopTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, _ := testLog(t)
		sup := NewSupervisor(log)
		_, _ = Spawn[msg](sup, "slow", &recorder{stopWait: true}, 1)
		stop, _ := start(t, sup)
		begin := time.Now()
		err := stop()
		if !errors.Is(err, ErrStopTimeout) {
			t.Fatalf("Run = %v, want ErrStopTimeout", err)
		}
		if took := time.Since(begin); took != DefaultStopTimeout {
			t.Fatalf("stop took %v, want the %v bound", took, DefaultStopTimeout)
		}
	})
}

func TestPokesCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, _ := testLog(t)
		sup := NewSupervisor(log)
		rec := &recorder{}
		ref, _ := Spawn[msg](sup, "rec", rec, 4)
		stop, _ := start(t, sup)
		release := make(chan struct{})
		_ = ref.Cast(msg{block: release})
		synctest.Wait()
		for range 100 {
			ref.Poke()
		}
		close(release)
		synctest.Wait()
		rec.mu.Lock()
		pokes := rec.pokes
		rec.mu.Unlock()
		if pokes != 1 {
			t.Fatalf("100 pokes while busy were handled %d times, want 1", pokes)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRegistry(t *testing.T) {
	reg := NewRegistry()
	ref := Ref[msg]{mb: newMailbox[msg]("a", 1)}
	if err := Register(reg, ref); err != nil {
		t.Fatal(err)
	}
	if err := Register(reg, ref); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second Register = %v, want ErrDuplicate", err)
	}
	got, err := Lookup[msg](reg, "a")
	if err != nil || got.Name() != "a" {
		t.Fatalf("Lookup(a) = %v, %v", got, err)
	}
	if _, err := Lookup[string](reg, "a"); !errors.Is(err, ErrWrongType) {
		t.Fatalf("Lookup with the wrong type = %v, want ErrWrongType", err)
	}
	if _, err := Lookup[msg](reg, "b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup(b) = %v, want ErrNotFound", err)
	}
	if names := reg.Names(); len(names) != 1 || names[0] != "a" {
		t.Fatalf("Names = %v", names)
	}
}

func TestRunTwiceAndSpawnAfterRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log, _ := testLog(t)
		sup := NewSupervisor(log)
		stop, _ := start(t, sup)
		if _, err := Spawn[msg](sup, "late", &recorder{}, 1); err == nil {
			t.Error("Spawn after Run succeeded")
		}
		if err := sup.Run(t.Context()); err == nil {
			t.Error("second Run succeeded")
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

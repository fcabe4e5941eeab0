package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// credWatch reports the moment a credential file appears in any of a set
// of directories, by inotify: the credential writer renames a finished
// file into place, so IN_MOVED_TO of NAME is the moment it is written.
type credWatch struct {
	f    *os.File
	mu   sync.Mutex
	dirs map[int32]int // watch descriptor -> node index
	want map[credAt]chan time.Time
	done chan struct{}
}

type credAt struct {
	node int
	name string
}

// watchCreds watches dirs[i] for node i; each must exist.
func watchCreds(dirs []string) (*credWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w := &credWatch{f: os.NewFile(uintptr(fd), "inotify"), dirs: map[int32]int{}, want: map[credAt]chan time.Time{}, done: make(chan struct{})}
	for i, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			w.f.Close()
			return nil, err
		}
		wd, err := unix.InotifyAddWatch(fd, d, unix.IN_MOVED_TO)
		if err != nil {
			w.f.Close()
			return nil, fmt.Errorf("watch %s: %w", d, err)
		}
		w.dirs[int32(wd)] = i
	}
	go w.loop()
	return w, nil
}

// expect registers interest in name appearing on node; the channel gets
// the time it did. Register before causing the write.
func (w *credWatch) expect(node int, name string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	w.mu.Lock()
	w.want[credAt{node, name}] = ch
	w.mu.Unlock()
	return ch
}

func (w *credWatch) loop() {
	defer close(w.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		now := time.Now()
		if err != nil {
			return // closed
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameStart := off + unix.SizeofInotifyEvent
			nameEnd := nameStart + int(ev.Len)
			if nameEnd > n {
				break
			}
			name := string(buf[nameStart:nameEnd])
			for len(name) > 0 && name[len(name)-1] == 0 {
				name = name[:len(name)-1]
			}
			off = nameEnd
			w.mu.Lock()
			node, ok := w.dirs[ev.Wd]
			if ch, want := w.want[credAt{node, name}]; ok && want && ev.Mask&unix.IN_MOVED_TO != 0 {
				ch <- now
				delete(w.want, credAt{node, name})
			}
			w.mu.Unlock()
		}
	}
}

func (w *credWatch) close() {
	w.f.Close()
	<-w.done
}

// waitAll waits for every channel and returns the times, in order.
func waitAll(ctx context.Context, timeout time.Duration, chs ...<-chan time.Time) ([]time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := make([]time.Time, len(chs))
	for i, ch := range chs {
		select {
		case t := <-ch:
			out[i] = t
		case <-ctx.Done():
			return nil, errors.New("a credential file did not appear in time")
		}
	}
	return out, nil
}

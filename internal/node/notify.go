package node

import (
	"context"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notifySystemd tells systemd the node is ready, feeds the watchdog while
// it runs and says STOPPING when it stops. Outside systemd (no
// NOTIFY_SOCKET) every call is a no-op. It runs as a supervised task, which
// starts only after every actor's PreStart succeeded.
func notifySystemd(log *slog.Logger, ready func()) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
			log.Warn("sd_notify READY failed", "err", err)
		}
		ready()
		defer daemon.SdNotify(false, daemon.SdNotifyStopping) //nolint:errcheck // best effort on the way out
		interval, err := daemon.SdWatchdogEnabled(false)
		if err != nil || interval <= 0 {
			<-ctx.Done()
			return nil
		}
		t := time.NewTicker(interval / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				_, _ = daemon.SdNotify(false, daemon.SdNotifyWatchdog)
			}
		}
	}
}

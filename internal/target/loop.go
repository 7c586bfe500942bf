package target

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Cancelled reports whether the loop itself was stopped (reload, shutdown):
// a call cut short by us says nothing about the target, so it is not recorded.
// A run's own timeout is DeadlineExceeded, not Canceled, and is recorded.
func Cancelled(ctx context.Context) bool { return errors.Is(ctx.Err(), context.Canceled) }

// Every runs fn now and then at each interval until ctx ends. Each run gets
// its own deadline, so one hung target never stalls another loop.
func Every(ctx context.Context, wg *sync.WaitGroup, interval, timeout time.Duration, logger *slog.Logger, fn func(context.Context)) {
	EveryOrWhen(ctx, wg, interval, timeout, nil, logger, fn)
}

// EveryOrWhen is Every that also runs fn as soon as wake fires (after the
// run under way, if any): new work need not wait for the next tick.
func EveryOrWhen(ctx context.Context, wg *sync.WaitGroup, interval, timeout time.Duration, wake <-chan struct{}, logger *slog.Logger, fn func(context.Context)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			runCtx, cancel := context.WithTimeout(ctx, timeout)
			fn(runCtx)
			cancel()
			select {
			case <-ctx.Done():
				logger.Debug("loop stopped")
				return
			case <-t.C:
			case <-wake:
			}
		}
	}()
}

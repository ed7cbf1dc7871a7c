package commitlog

import (
	"context"
	"fmt"
	"time"
)

// FsyncPolicy says when appended batches are fsynced.
type FsyncPolicy int

const (
	// FsyncBatch (the default) fsyncs in a background syncer as soon as
	// there is unsynced data: one fsync covers every batch appended before
	// it started (group commit). Sync waits for it and the high watermark
	// is the fsynced end, so readers only see durable data.
	FsyncBatch FsyncPolicy = iota
	// FsyncInterval fsyncs every Config.FsyncInterval; the high watermark
	// is the LEO and Sync does not wait.
	FsyncInterval
	// FsyncNever leaves flushing to the OS, except on roll and Close.
	FsyncNever
)

// ParseFsyncPolicy parses "batch", "interval" or "never".
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	for p := FsyncBatch; p <= FsyncNever; p++ {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("commitlog: unknown fsync policy %q (want batch, interval or never)", s)
}

func (p FsyncPolicy) String() string {
	switch p {
	case FsyncBatch:
		return "batch"
	case FsyncInterval:
		return "interval"
	case FsyncNever:
		return "never"
	}
	return fmt.Sprintf("FsyncPolicy(%d)", int(p))
}

// Sync blocks until every offset below offset is fsynced (FsyncBatch), the
// context ends, the log fails or has closed; a Sync racing with Close is
// answered by Close's final fsync. Under the other policies it returns at
// once: nil, or the sticky error.
func (l *Log) Sync(ctx context.Context, offset int64) error {
	for {
		l.mu.Lock()
		if l.cfg.Fsync != FsyncBatch || l.durable >= offset {
			err := l.err
			if l.cfg.Fsync == FsyncBatch {
				err = nil // what is durable stays durable
			}
			l.mu.Unlock()
			return err
		}
		if err := l.err; err != nil || l.shut {
			l.mu.Unlock()
			if err == nil {
				err = ErrClosed
			}
			return err
		}
		if l.syncCh == nil {
			l.syncCh = make(chan struct{})
		}
		ch := l.syncCh
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// syncLoop is the syncer goroutine. An Append kicks it; it fsyncs until
// the durable end catches up with the LEO, so batches that arrive during
// one fsync are covered by the next. Under FsyncInterval it first waits
// FsyncInterval from the kick and fsyncs once, so data is fsynced at most
// about that long after it was written, at most once per interval. It arms
// no timer and wakes for nothing while nothing is appended: a broker with
// many idle partitions costs no CPU here.
func (l *Log) syncLoop() {
	defer close(l.done)
	var wait *time.Timer
	if l.cfg.Fsync == FsyncInterval {
		wait = time.NewTimer(l.cfg.FsyncInterval)
		wait.Stop()
		defer wait.Stop()
	}
	for {
		select {
		case <-l.stop:
			return
		case <-l.kick:
		}
		l.wakeups.Add(1)
		if wait == nil {
			for l.syncOnce() {
			}
			continue
		}
		wait.Reset(l.cfg.FsyncInterval)
		select {
		case <-l.stop:
			return
		case <-wait.C:
		}
		if l.syncOnce() {
			l.kickSyncer() // more came meanwhile: the next fsync an interval on
		}
	}
}

// syncOnce fsyncs the active segment without holding mu, so appends go on
// meanwhile, then publishes the offsets that were written before it began.
// It reports whether more data is waiting.
func (l *Log) syncOnce() bool {
	l.syncGate.Lock()
	defer l.syncGate.Unlock()
	l.mu.Lock()
	if l.err != nil || l.durable >= l.leo {
		l.mu.Unlock()
		return false
	}
	target, s := l.leo, l.active() // earlier segments were sealed on roll
	pos := s.size
	s.acquire()
	defer s.release()
	l.mu.Unlock()

	if l.cfg.BeforeFsync != nil {
		l.cfg.BeforeFsync()
	}
	f, err := l.activeFile(s) // open: held by the syncer, it cannot be closed as idle
	if err == nil {
		l.fsyncs.Add(1)
		err = f.Sync()
	}

	l.mu.Lock()
	if err != nil {
		l.fail(fmt.Errorf("fsync %s: %w", s.path(logSuffix), err))
		l.mu.Unlock()
		return false
	}
	l.setDurable(target)
	more := l.durable < l.leo
	l.mu.Unlock()
	// After the waiters are released: the recovery point costs a few
	// fsyncs about once a second, which later batches wait out.
	l.maybeRecoveryPoint(s, pos, target)
	return more
}

package commitlog

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/broker/internal/durable"
)

// epochFile holds the leader epoch history in Kafka's text checkpoint
// format: a version line (0), a count line, then "epoch startOffset" lines.
const epochFile = "leader-epoch-checkpoint"

// noteEpoch records that leaderEpoch starts at offset base if it is newer
// than the last one, persisting the history before the batch is written.
// Negative epochs (unknown) and older ones are not recorded. Caller holds mu.
func (l *Log) noteEpoch(leaderEpoch int32, base int64) error {
	if leaderEpoch < 0 {
		return nil
	}
	if n := len(l.epochs); n > 0 && l.epochs[n-1].Epoch >= leaderEpoch {
		return nil
	}
	next := append(l.epochs[:len(l.epochs):len(l.epochs)], EpochEntry{Epoch: leaderEpoch, StartOffset: base})
	if err := writeFileAtomic(l.cfg.Dir, epochFile, encodeEpochs(next)); err != nil {
		return err
	}
	l.epochs = next
	return nil
}

// loadEpochs reads the checkpoint at Open and drops entries at or past the
// LEO (their batches were lost to a torn tail; with Config.OneEpoch, past
// it only); exists says whether the
// directory listing named it. An unreadable checkpoint is
// logged and replaced: it is metadata, the log itself is intact.
func (l *Log) loadEpochs(exists bool) error {
	if !exists {
		return nil
	}
	b, err := durable.ReadFile(filepath.Join(l.cfg.Dir, epochFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		l.epochs, err = decodeEpochs(b)
	}
	if err != nil {
		l.log.Warn("commitlog: discarding unreadable leader epoch checkpoint", "err", err)
		l.epochs = nil
		return writeFileAtomic(l.cfg.Dir, epochFile, encodeEpochs(nil))
	}
	return l.dropLostEpochs()
}

// dropLostEpochs forgets the epochs a lost tail of the log left: those
// starting at or past the LEO, or with Config.OneEpoch past it only (an
// entry at the LEO was assigned before any append). Caller holds mu (or
// is Open).
func (l *Log) dropLostEpochs() error {
	if l.cfg.OneEpoch {
		return l.dropEpochsFrom(l.leo + 1)
	}
	return l.dropEpochsFrom(l.leo)
}

// dropEpochsFrom forgets epochs starting at or after end (their batches
// are gone) and rewrites the checkpoint if any was. Caller holds mu (or
// is Open).
func (l *Log) dropEpochsFrom(end int64) error {
	keep := len(l.epochs)
	for keep > 0 && l.epochs[keep-1].StartOffset >= end {
		keep--
	}
	if keep == len(l.epochs) {
		return nil
	}
	l.epochs = l.epochs[:keep]
	return writeFileAtomic(l.cfg.Dir, epochFile, encodeEpochs(l.epochs))
}

// trimEpochs forgets epochs that ended before start, the new log start
// offset, keeping the one in force at start. Caller holds mu.
func (l *Log) trimEpochs(start int64) error {
	i := 0
	for i+1 < len(l.epochs) && l.epochs[i+1].StartOffset <= start {
		i++
	}
	if len(l.epochs) == 0 || (i == 0 && l.epochs[0].StartOffset >= start) {
		return nil
	}
	next := append([]EpochEntry(nil), l.epochs[i:]...)
	next[0].StartOffset = max(next[0].StartOffset, start)
	if err := writeFileAtomic(l.cfg.Dir, epochFile, encodeEpochs(next)); err != nil {
		return err
	}
	l.epochs = next
	return nil
}

func encodeEpochs(entries []EpochEntry) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "0\n%d\n", len(entries))
	for _, e := range entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.StartOffset)
	}
	return b.Bytes()
}

func decodeEpochs(b []byte) ([]EpochEntry, error) {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < 2 || lines[0] != "0" {
		return nil, fmt.Errorf("commitlog: %s: unknown version", epochFile)
	}
	n, err := strconv.Atoi(lines[1])
	if err != nil || n != len(lines)-2 {
		return nil, fmt.Errorf("commitlog: %s: count %q does not match %d entries", epochFile, lines[1], len(lines)-2)
	}
	entries := make([]EpochEntry, 0, n)
	for _, line := range lines[2:] {
		var e EpochEntry
		if _, err := fmt.Sscanf(line, "%d %d", &e.Epoch, &e.StartOffset); err != nil {
			return nil, fmt.Errorf("commitlog: %s: line %q: %w", epochFile, line, err)
		}
		if k := len(entries); k > 0 && (e.Epoch <= entries[k-1].Epoch || e.StartOffset < entries[k-1].StartOffset) {
			return nil, fmt.Errorf("commitlog: %s: entries not increasing at %q", epochFile, line)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch as Kafka's leader epoch
// cache does (KIP-101, KIP-279): the largest epoch at most requested that
// this log holds, and the offset where the epoch after requested begins
// (the log end offset if requested is the latest epoch). A requested
// epoch newer than every epoch here, or none known, gives (-1, -1); one
// older than all gives (requested, the first epoch's start offset).
func (l *Log) EndOffsetForEpoch(requested int32) (epoch int32, end int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.epochs)
	switch {
	case requested < 0 || n == 0:
		return -1, -1
	case l.epochs[n-1].Epoch == requested:
		return requested, l.leo
	}
	// The first entry with an epoch above requested.
	i := 0
	for i < n && l.epochs[i].Epoch <= requested {
		i++
	}
	switch {
	case i == n:
		return -1, -1
	case i == 0:
		return requested, l.epochs[0].StartOffset
	}
	return l.epochs[i-1].Epoch, l.epochs[i].StartOffset
}

// AssignEpoch records that leaderEpoch begins at the log end offset, as a
// partition leader does when it is elected (before it appends anything),
// so OffsetForLeaderEpoch for the previous epoch ends where this one
// begins. An epoch not newer than the latest is ignored.
func (l *Log) AssignEpoch(leaderEpoch int32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	return l.noteEpoch(leaderEpoch, l.leo)
}

package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pitwall/pitwall/broker/internal/durable"
)

// The compaction swap protocol (doc.go, "Compaction"): cleaned segments are
// written as <base>.log.cleaned (+ .index.cleaned, .timeindex.cleaned) and
// fsynced with the directory; the manifest compaction-swap, naming for
// each cleaned segment the segments it replaces, is the commit point; then
// the cleaned files are renamed over <base>.*, the replaced segments'
// files removed, the directory fsynced and the manifest removed. Open (and
// the next pass) finishes a swap whose manifest exists and deletes
// *.cleaned files without one.
const (
	cleanedSuffix         = ".cleaned"
	swapFile              = "compaction-swap"
	cleanerCheckpointFile = "cleaner-checkpoint"

	swapMagic    = "PWCS"
	cleanerMagic = "PWCC"
	smallVersion = 1
)

var segmentSuffixes = []string{logSuffix, indexSuffix, timeIndexSuffix}

// errSimulatedCrash wraps errors returned by the test hook: the pass stops
// where it is, leaving its files as a crash would.
var errSimulatedCrash = errors.New("commitlog: simulated crash")

func cleanedPath(dir string, base int64, suffix string) string {
	return segPathIn(dir, base, suffix) + cleanedSuffix
}

func segPathIn(dir string, base int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

// hook runs the test hook at a step of the swap protocol.
func (l *Log) hook(step, file string) error {
	if l.cfg.compactHook == nil {
		return nil
	}
	if err := l.cfg.compactHook(step, file); err != nil {
		return fmt.Errorf("%w at %s %s: %w", errSimulatedCrash, step, file, err)
	}
	return nil
}

// swapGroup: the cleaned segment out replaces the segments inputs (base
// offsets; out is the first of them).
type swapGroup struct {
	out    int64
	inputs []int64
}

// swap commits the pass and installs its segments.
func (l *Log) swap(c *compactor) error {
	var groups []swapGroup
	for i, cs := range c.cleaned {
		if cs == nil {
			continue
		}
		g := swapGroup{out: cs.base}
		for _, j := range c.groups[i] {
			g.inputs = append(g.inputs, c.p.segs[j].base)
		}
		groups = append(groups, g)
	}
	if len(groups) == 0 {
		return nil
	}
	if l.closing.Load() {
		return ErrClosed // still undone: the cleaned files go
	}
	// The cleaned files' names must be durable before the manifest that
	// makes Open delete the segments they replace.
	if err := syncDir(l.cfg.Dir); err != nil {
		return err
	}
	if err := writeFileAtomic(l.cfg.Dir, swapFile, encodeSwap(groups)); err != nil {
		return err
	}
	c.committed = true
	if err := l.hook("committed", swapFile); err != nil {
		return err
	}
	if err := l.install(c); err != nil {
		return err
	}
	if err := l.hook("installed", ""); err != nil {
		return err
	}
	if err := l.completeSwap(groups); err != nil {
		return err
	}
	// Only now may the index cache unload them: until the renames, their
	// names held the old segments, and a reload would read those.
	for _, s := range c.added {
		s.closed.Store(true)
		l.noteClosedUse(s)
	}
	return nil
}

// install replaces the rewritten segments in the segment list, under mu
// for a moment. Only Retain and Compact remove segments, and maintMu
// serialises them, so the first c.mapped segments are the plan's.
func (l *Log) install(c *compactor) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed // committed: the next Open finishes the swap
	}
	for i := range c.mapped {
		if l.segments[i] != c.p.segs[i] {
			return fmt.Errorf("commitlog: compaction: segment %d changed under the pass", c.p.segs[i].base)
		}
	}
	list := make([]*segment, 0, len(l.segments))
	var gone []*segment
	for gi, g := range c.groups {
		cs := c.cleaned[gi]
		if cs == nil { // one unchanged segment
			list = append(list, c.p.segs[g[0]])
			continue
		}
		s := newSegment(l.cfg.Dir, cs.base, l.cfg.IndexIntervalBytes)
		s.size, s.file, s.loaded, s.idx = cs.size, cs.file, true, cs.idx
		c.added = append(c.added, s)
		s.savedOffsets, s.savedTimes = len(cs.idx.offsets), len(cs.idx.times)
		cs.file = nil // the segment owns it now
		list = append(list, s)
		l.size += cs.size
		for _, i := range g {
			gone = append(gone, c.p.segs[i])
			l.size -= c.p.sizes[i]
		}
	}
	l.segments = append(list, l.segments[c.mapped:]...)
	for _, s := range gone {
		l.retire(s) // readers in flight keep the old file open
	}
	return nil
}

// completeSwap renames the cleaned files of groups into place, removes the
// segments they replace and then the manifest. Every step may already have
// happened (a crash, or a failure in an earlier attempt).
func (l *Log) completeSwap(groups []swapGroup) error {
	dir := l.cfg.Dir
	for _, g := range groups {
		for _, suffix := range segmentSuffixes {
			err := os.Rename(cleanedPath(dir, g.out, suffix), segPathIn(dir, g.out, suffix))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("commitlog: compaction swap: %w", err)
			}
			if err := l.hook("renamed", filepath.Base(segPathIn(dir, g.out, suffix))); err != nil {
				return err
			}
		}
		for _, base := range g.inputs {
			if base == g.out {
				continue
			}
			for _, suffix := range segmentSuffixes {
				if err := os.Remove(segPathIn(dir, base, suffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("commitlog: compaction swap: %w", err)
				}
				if err := l.hook("removed", filepath.Base(segPathIn(dir, base, suffix))); err != nil {
					return err
				}
			}
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if err := l.hook("synced", ""); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, swapFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("commitlog: compaction swap: %w", err)
	}
	return syncDir(dir)
}

// finishSwap completes a committed swap left by a crash or a failed pass,
// then deletes cleaned files of passes that never committed. Compact calls
// it before planning; Open calls finishSwapIn with the listing it has.
func (l *Log) finishSwap() error {
	names, err := durable.ReadDirNames(l.cfg.Dir)
	if err != nil {
		return fmt.Errorf("commitlog: %w", err)
	}
	_, err = l.finishSwapIn(names)
	return err
}

// finishSwapIn is finishSwap given the directory's names. It returns the
// names as they are afterwards (listed again if a swap was completed).
func (l *Log) finishSwapIn(names []string) ([]string, error) {
	dir := l.cfg.Dir
	if slices.Contains(names, swapFile) {
		b, err := durable.ReadFile(filepath.Join(dir, swapFile))
		if err != nil {
			return nil, fmt.Errorf("commitlog: %w", err)
		}
		groups, err := decodeSwap(b)
		if err != nil {
			// Written atomically, so this is damage, not a torn write:
			// guessing could delete the only copy of some records.
			return nil, fmt.Errorf("commitlog: %s is unreadable; move it away to open the log with the segments as they are: %w",
				filepath.Join(dir, swapFile), err)
		}
		l.log.Warn("commitlog: finishing an interrupted compaction swap", "segments", len(groups))
		if err := l.completeSwap(groups); err != nil {
			return nil, err
		}
		if names, err = durable.ReadDirNames(dir); err != nil {
			return nil, fmt.Errorf("commitlog: %w", err)
		}
	}
	return removeCleanedFiles(dir, names)
}

// removeCleanedFiles deletes *.cleaned files, which no manifest covers,
// and returns the names left.
func removeCleanedFiles(dir string, names []string) ([]string, error) {
	if !slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, cleanedSuffix) }) {
		return names, nil
	}
	var kept []string
	for _, name := range names {
		if !strings.HasSuffix(name, cleanedSuffix) {
			kept = append(kept, name)
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("commitlog: %w", err)
		}
	}
	return kept, syncDir(dir)
}

// encodeSwap: "PWCS", version uint32, group count uint32, then per group
// out int64, input count uint32, inputs int64..., then CRC-32C uint32 of
// everything before it.
func encodeSwap(groups []swapGroup) []byte {
	b := append([]byte(swapMagic), 0, 0, 0, smallVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(groups)))
	for _, g := range groups {
		b = binary.BigEndian.AppendUint64(b, uint64(g.out))
		b = binary.BigEndian.AppendUint32(b, uint32(len(g.inputs)))
		for _, in := range g.inputs {
			b = binary.BigEndian.AppendUint64(b, uint64(in))
		}
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeSwap(b []byte) ([]swapGroup, error) {
	body, err := unsealSmall(b, swapMagic)
	if err != nil {
		return nil, err
	}
	if len(body) < 4 {
		return nil, errors.New("truncated")
	}
	n := binary.BigEndian.Uint32(body)
	body = body[4:]
	var groups []swapGroup
	for range n {
		if len(body) < 12 {
			return nil, errors.New("truncated group")
		}
		g := swapGroup{out: int64(binary.BigEndian.Uint64(body))}
		k := binary.BigEndian.Uint32(body[8:])
		body = body[12:]
		if uint64(k)*8 > uint64(len(body)) || k == 0 {
			return nil, errors.New("bad input count")
		}
		for i := range k {
			g.inputs = append(g.inputs, int64(binary.BigEndian.Uint64(body[8*i:])))
		}
		body = body[8*k:]
		if g.inputs[0] != g.out {
			return nil, errors.New("group does not start with its output")
		}
		groups = append(groups, g)
	}
	if len(body) != 0 {
		return nil, errors.New("trailing bytes")
	}
	return groups, nil
}

// unsealSmall checks the magic, version and trailing CRC-32C of a small
// metadata file and returns what lies between.
func unsealSmall(b []byte, magic string) ([]byte, error) {
	if len(b) < 12 || string(b[:4]) != magic {
		return nil, fmt.Errorf("not a %s file", magic)
	}
	if crc32.Checksum(b[:len(b)-4], castagnoli) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return nil, errors.New("crc mismatch")
	}
	if v := binary.BigEndian.Uint32(b[4:]); v != smallVersion {
		return nil, fmt.Errorf("unknown version %d", v)
	}
	return b[8 : len(b)-4], nil
}

// readCleanerCheckpoint returns the offset before which the log was
// compacted by an earlier pass (0 if unknown: everything is dirty).
func (l *Log) readCleanerCheckpoint() int64 {
	b, err := durable.ReadFile(filepath.Join(l.cfg.Dir, cleanerCheckpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	var body []byte
	if err == nil {
		body, err = unsealSmall(b, cleanerMagic)
	}
	if err == nil && len(body) != 8 {
		err = errors.New("wrong size")
	}
	if err != nil {
		l.log.Warn("commitlog: ignoring unreadable cleaner checkpoint; compacting the whole log", "err", err)
		return 0
	}
	return int64(binary.BigEndian.Uint64(body))
}

// writeCleanerCheckpoint records that the log before offset is compacted:
// "PWCC", version uint32, offset int64, CRC-32C uint32.
func (l *Log) writeCleanerCheckpoint(offset int64) error {
	b := append([]byte(cleanerMagic), 0, 0, 0, smallVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(offset))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return writeFileAtomic(l.cfg.Dir, cleanerCheckpointFile, b)
}

package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pitwall/pitwall/edge/internal/durable"
)

// Segment files: a 16-byte header (magic, base index) then framed records.
const (
	segMagic     = "PWSPOOL1"
	segHeaderLen = 16
	segSuffix    = ".seg"
)

// segment is one spool file.
type segment struct {
	base uint64 // index of its first record
	path string
	size int64 // bytes, header included
	// count is the number of records; known for the active segment and
	// for sealed segments once the next one exists (next.base - base).
	f *os.File // open for reading (and writing while active); nil once closed
}

func segName(base uint64) string { return fmt.Sprintf("%020d%s", base, segSuffix) }

// listSegments returns the bases of the segment files in dir, ascending,
// and removes leftovers of interrupted creations (*.tmp).
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bases []uint64
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, durable.TempSuffix) {
			os.Remove(filepath.Join(dir, name))
			continue
		}
		if !strings.HasSuffix(name, segSuffix) || e.IsDir() {
			continue
		}
		base, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err != nil || segName(base) != name {
			continue // not ours
		}
		bases = append(bases, base)
	}
	slices.Sort(bases)
	return bases, nil
}

// createSegment creates a new segment file: its header is written and
// fsynced under a temporary name, then renamed and the directory fsynced
// (durable.WriteFileAtomic), so a segment file always has a header, even
// after a power cut. A directory that refuses fsync is logged, not fatal.
func createSegment(dir string, base uint64, log *slog.Logger) (*segment, error) {
	path := filepath.Join(dir, segName(base))
	var hdr [segHeaderLen]byte
	copy(hdr[:], segMagic)
	binary.LittleEndian.PutUint64(hdr[8:], base)
	if err := durable.WriteFileAtomic(path, hdr[:], 0o644); errors.Is(err, durable.ErrSyncDir) {
		log.Warn("spool: new segment: directory not fsynced", "err", err)
	} else if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(segHeaderLen, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &segment{base: base, path: path, size: segHeaderLen, f: f}, nil
}

// openSegment opens an existing segment and checks its header.
func openSegment(dir string, base uint64) (*segment, error) {
	path := filepath.Join(dir, segName(base))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	var hdr [segHeaderLen]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || string(hdr[:8]) != segMagic || binary.LittleEndian.Uint64(hdr[8:]) != base {
		f.Close()
		return nil, fmt.Errorf("%w: %s: bad segment header", ErrCorrupt, path)
	}
	return &segment{base: base, path: path, size: st.Size(), f: f}, nil
}

// scan walks the records of s from its header until the end of the file
// or the first bad record, and returns the offset where good records end
// and how many there are; err says why it stopped early.
func (s *segment) scan() (end int64, count uint64, err error) {
	r := bufio.NewReaderSize(io.NewSectionReader(s.f, segHeaderLen, math.MaxInt64-segHeaderLen), 1<<20)
	end = segHeaderLen
	var hdr [frameHeaderLen]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return end, count, nil
			}
			return end, count, truncated(err)
		}
		n, _, err := frameLen(hdr[:])
		if err != nil {
			return end, count, err
		}
		if cap(buf) < frameHeaderLen+n {
			buf = make([]byte, frameHeaderLen+n)
		}
		buf = buf[:frameHeaderLen+n]
		copy(buf, hdr[:])
		if _, err := io.ReadFull(r, buf[frameHeaderLen:]); err != nil {
			return end, count, truncated(err)
		}
		var rec Record
		if err := decodeFramed(buf, n, &rec); err != nil {
			return end, count, err
		}
		end += int64(frameHeaderLen + n)
		count++
	}
}

// truncated turns a short read into ErrCorrupt; other errors pass.
func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: truncated record", ErrCorrupt)
	}
	return err
}

func (s *segment) close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

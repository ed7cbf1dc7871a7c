package durable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// TempSuffix is appended to a file's name while WriteFileAtomic writes it.
const TempSuffix = ".tmp"

// ErrSyncDir is wrapped by SyncDir's errors, and so by WriteFileAtomic's
// when only the final directory fsync failed: the new file is then in
// place, but its name may not survive a power cut. Some filesystems refuse
// to fsync a directory; callers that can live with that check for it.
var ErrSyncDir = errors.New("durable: directory fsync failed")

// WriteFileAtomic replaces path with data: it writes path+TempSuffix,
// fsyncs it, renames it over path and fsyncs the directory, so after a
// crash path holds the old data or the new, never a mix. On error the
// temp file is removed and path is untouched, unless only the directory
// fsync failed (ErrSyncDir), after the rename.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + TempSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("durable: write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("durable: write %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir fsyncs dir, making the creations, renames and removals of its
// entries durable. Its errors wrap ErrSyncDir.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSyncDir, dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSyncDir, dir, err)
	}
	return nil
}

package durable

import (
	"fmt"
	"os"
	"path/filepath"
)

// TempSuffix is appended to a file's name while WriteFile writes it.
const TempSuffix = ".tmp"

// WriteFile replaces path with data: it writes path+TempSuffix, fsyncs it,
// renames it over path and fsyncs the directory, so after a crash path holds
// the old data or the new. On error the temp file is removed and path is
// untouched (unless the final directory fsync failed, after the rename).
func WriteFile(path string, data []byte) error {
	tmp := path + TempSuffix
	f, err := Open(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
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
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// WriteFiles replaces several files of one directory as WriteFile does,
// with one directory fsync for all of them at the end: after a crash each
// holds its old data or its new, independently of the others. Use it only
// where any such mix is fine. data[i] goes to dir/names[i].
func WriteFiles(dir string, names []string, data [][]byte) error {
	for i, name := range names {
		path := filepath.Join(dir, name)
		tmp := path + TempSuffix
		f, err := Open(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		_, err = f.Write(data[i])
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
			_ = os.Remove(tmp)
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return SyncDir(dir)
}

// SyncDir fsyncs dir, making the renames, creations and removals of its
// entries durable.
func SyncDir(dir string) error {
	d, err := Open(dir, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

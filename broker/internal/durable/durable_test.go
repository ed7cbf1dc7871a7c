package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	for _, c := range []struct {
		name    string
		setup   func(t *testing.T, path string) // what is there before
		wantErr bool
		want    string // content of path afterwards
	}{
		{"new file", func(*testing.T, string) {}, false, "new"},
		{"replaces an old file", func(t *testing.T, path string) { write(t, path, "old") }, false, "new"},
		{"replaces a stale temp file", func(t *testing.T, path string) { write(t, path+TempSuffix, "torn") }, false, "new"},
		{"keeps the old file when the rename fails", func(t *testing.T, path string) {
			// A non-empty directory where the file should be: the
			// rename over it fails after the temp file was written.
			if err := os.MkdirAll(filepath.Join(path, "x"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			c.setup(t, path)
			err := WriteFile(path, []byte("new"))
			if (err != nil) != c.wantErr {
				t.Fatalf("WriteFile: %v, want error %v", err, c.wantErr)
			}
			if _, err := os.Stat(path + TempSuffix); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("temp file left behind: %v", err)
			}
			if c.wantErr {
				if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
					t.Errorf("what was at the path is gone: %v", err)
				}
				return
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != c.want {
				t.Errorf("file holds %q (%v), want %q", got, err, c.want)
			}
		})
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gone", "state.json")
	if err := WriteFile(path, []byte("x")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("WriteFile in a missing directory: %v, want ErrNotExist", err)
	}
}

func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(filepath.Join(t.TempDir(), "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("SyncDir of a missing directory: %v, want ErrNotExist", err)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

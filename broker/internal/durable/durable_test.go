package durable

import (
	"errors"
	"fmt"
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

// TestReadFile reads files around the sizes where ReadFile's strategy
// changes (empty, short, exactly its first read, larger), and a missing one.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, smallFile - 1, smallFile, smallFile + 1, 3*smallFile + 7, 1 << 20} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(path)
		if err != nil || string(got) != string(data) {
			t.Fatalf("%d bytes: read %d bytes, %v", n, len(got), err)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want ErrNotExist", err)
	}
}

// TestReadDirNames lists a directory of more entries than one getdents
// call returns, and a missing one.
func TestReadDirNames(t *testing.T) {
	dir := t.TempDir()
	want := map[string]bool{}
	for i := range 500 {
		name := fmt.Sprintf("file-with-a-long-name-%04d", i)
		want[name] = true
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	want["sub"] = true
	names, err := ReadDirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(want) {
		t.Fatalf("%d names, want %d", len(names), len(want))
	}
	for _, n := range names {
		if !want[n] {
			t.Fatalf("unexpected name %q", n)
		}
	}
	if _, err := ReadDirNames(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing dir: %v, want ErrNotExist", err)
	}
}

// TestOpen: a file opened without the poller reads, writes and syncs like
// any other.
func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := Open(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("hello"), 3); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	if n, err := f.ReadAt(b, 0); n != 8 || err != nil || string(b[3:]) != "hello" {
		t.Fatalf("read %q, %v", b[:n], err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st, err)
	}
	if _, err := Open(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("O_EXCL on an existing file: %v", err)
	}
}

// TestWriteFiles replaces two files of a directory and leaves no temp file.
func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("old a"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFiles(dir, []string{"a", "b"}, [][]byte{[]byte("new a"), []byte("new b")}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": "new a", "b": "new b"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Fatalf("%s: %q, %v", name, got, err)
		}
	}
	names, err := ReadDirNames(dir)
	if err != nil || len(names) != 2 {
		t.Fatalf("directory holds %v, %v; want a and b only", names, err)
	}
}

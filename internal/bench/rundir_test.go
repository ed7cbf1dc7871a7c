package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunDir checks both kinds of run directory: a given one is created
// and kept, a temporary one is made under the name and removed.
func TestRunDir(t *testing.T) {
	given := filepath.Join(t.TempDir(), "a", "b")
	dir, remove, err := runDir(given, "x")
	if err != nil || dir != given {
		t.Fatalf("runDir(%q) = %q, %v", given, dir, err)
	}
	remove()
	if fi, err := os.Stat(given); err != nil || !fi.IsDir() {
		t.Errorf("given dir after remove: %v", err)
	}

	dir, remove, err = runDir("", "x")
	if err != nil || !strings.HasPrefix(filepath.Base(dir), "pitwall-bench-x-") {
		t.Fatalf("runDir(\"\") = %q, %v", dir, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("temp dir: %v", err)
	}
	remove()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temp dir %s after remove: %v, want it gone", dir, err)
	}
}

package partition

import (
	"log/slog"
	"syscall"

	"github.com/pitwall/pitwall/broker/internal/commitlog"
)

// A partition keeps one file open: its active segment (closed segments
// open on demand and close again under the index cache). With the usual
// limit of 20,000 open files that would cap a broker below 20,000
// partitions, failing somewhere at random when it runs out. Instead the
// registry gives every log one commitlog.FileBudget: past its size the
// least recently used idle partitions' files are closed and reopened on
// their next append or read.

// Bounds of the file descriptors kept for everything but active segments:
// connections, closed segments being read, index and checkpoint writes.
const (
	minReservedFiles = 256
	maxReservedFiles = 4096
)

// newFileBudget returns the budget of active segment files: limit if set,
// else the file limit less a reserve of a quarter of it (within
// minReservedFiles..maxReservedFiles). It logs the figures once, so an
// operator sees what the limit allows.
func newFileBudget(limit int, log *slog.Logger) *commitlog.FileBudget {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("cannot read the open file limit (RLIMIT_NOFILE)", "err", err)
		lim.Cur, lim.Max = 1024, 1024
	}
	if limit <= 0 {
		reserve := min(maxReservedFiles, max(minReservedFiles, int(lim.Cur/4)))
		limit = int(lim.Cur) - reserve
		if limit < 64 {
			limit = 64
		}
	}
	// Go's runtime has already raised the soft limit to the hard one
	// (os, since Go 1.19), so Cur is all there is to have.
	log.Info("open file limit", "limit", lim.Cur, "hard_limit", lim.Max, "active_segment_files", limit,
		"note", "partitions beyond this many keep working: the least recently used idle ones close their file and reopen it on use")
	return commitlog.NewFileBudget(limit)
}

package partition

import (
	"log/slog"
	"syscall"
)

// A partition keeps one file open: its active segment (closed segments
// open on demand and close again under the index cache). With the usual
// limit of 20,000 open files that would cap a broker below 20,000
// partitions, failing somewhere at random when it runs out. Instead the
// registry gives every log one commitlog.FileBudget: past its size the
// least recently used idle partitions' files are closed and reopened on
// their next append or read. The registry holds at most partitionsPerFile
// partitions per budgeted file and refuses to create more, naming the
// limit, rather than failing later.

// Bounds of the file descriptors kept for everything but active segments:
// connections, closed segments being read, index and checkpoint writes.
const (
	minReservedFiles = 256
	maxReservedFiles = 4096
)

// partitionsPerFile is how many partitions the registry holds per active
// segment file it may keep open. Idle partitions close their file and
// reopen it on use, so the file limit bounds the partitions in use at once,
// not those held; past this many per file, a broker using all its
// partitions would spend its time reopening files, so Create refuses more
// (and says to raise the file limit).
const partitionsPerFile = 4

// fileLimits are the figures the open file limit gives the registry.
type fileLimits struct {
	limit, hard   uint64 // RLIMIT_NOFILE, soft and hard
	budget        int    // active segment files open at once
	maxPartitions int    // partitions the registry holds at most
}

// newFileLimits works out the budget of active segment files (limit if
// set, else the file limit less a reserve of a quarter of it, within
// minReservedFiles..maxReservedFiles) and the partitions allowed
// (maxPartitions if set, else partitionsPerFile per budgeted file).
func newFileLimits(limit, maxPartitions int, log *slog.Logger) fileLimits {
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
	if maxPartitions <= 0 {
		maxPartitions = partitionsPerFile * limit
	}
	return fileLimits{limit: lim.Cur, hard: lim.Max, budget: limit, maxPartitions: maxPartitions}
}

// logLimits says once, at Open, what the file limit allows. Go's runtime
// has already raised the soft limit to the hard one (os, since Go 1.19),
// so the soft limit is all there is to have.
func (f fileLimits) logLimits(log *slog.Logger, held int) {
	log.Info("open file limit", "limit", f.limit, "hard_limit", f.hard, "active_segment_files", f.budget,
		"partitions_allowed", f.maxPartitions, "partitions", held,
		"note", "idle partitions close their file and reopen it on use; topic creation beyond partitions_allowed is refused: raise the file limit (ulimit -n) to hold more")
}

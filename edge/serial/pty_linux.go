package serial

import "golang.org/x/sys/unix"

// ptyID tells a pty from another that has the same number later: rdev
// says which number, ctime when devpts created the node, that is when the
// pty was created (reads, writes and termios changes leave it alone).
// link, when the path is a symlink, is that link, which its owner
// re-creates to point at a new pty.
type ptyID struct {
	rdev  uint64
	ctime unix.Timespec
	link  linkID
}

type linkID struct {
	dev, ino uint64
	ctime    unix.Timespec
}

// succeededBy reports whether b is another pty under a's number, reached
// the way a was: through no symlink, or through the same one (a link
// re-created since is its owner's new name for a new pty).
func (a ptyID) succeededBy(b ptyID) bool {
	return a.link == b.link && a.rdev == b.rdev && a.ctime != b.ctime
}

// ptyAt identifies the pty slave that path resolves to; false when it is
// no pty (a UART, a USB adapter) or does not exist.
func ptyAt(path string) (ptyID, bool) {
	var fs unix.Statfs_t
	if unix.Statfs(path, &fs) != nil || fs.Type != unix.DEVPTS_SUPER_MAGIC {
		return ptyID{}, false
	}
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return ptyID{}, false
	}
	id := ptyID{rdev: uint64(st.Rdev), ctime: st.Ctim}
	if unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		id.link = linkID{dev: uint64(st.Dev), ino: uint64(st.Ino), ctime: st.Ctim}
	}
	return id, true
}

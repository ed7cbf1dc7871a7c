package durable

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// A broker opens thousands of small files at start (a few per partition)
// and each costs system calls. os.OpenFile tries to register every file
// with Go's network poller: for a regular file that is four fcntl calls and
// an epoll_ctl that fails, on top of the open itself. Open and ReadFile
// skip that (the poller cannot wait on regular files anyway), so opening a
// file costs an open and one fcntl, and reading a small one an open, a
// read and a close.

// Open opens path like os.OpenFile (O_CLOEXEC is added) but without
// registering the file with the poller. Use it for regular files and
// directories only.
func Open(path string, flag int, perm os.FileMode) (*os.File, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, flag|syscall.O_CLOEXEC, uint32(perm.Perm()))
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// smallFile is the read size ReadFile starts with: the files the broker
// reads whole at start for every partition (its clean-shutdown marker and
// leader epoch checkpoint, ~80 bytes each) fit, so one read suffices;
// bigger ones (indexes) grow the buffer to their size.
const smallFile = 512

// ReadFile reads the whole of path, like os.ReadFile, with as few system
// calls as a small file allows (open, read, close). A missing file gives
// an error wrapping os.ErrNotExist.
func ReadFile(path string) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	buf := make([]byte, 0, smallFile)
	for {
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) < cap(buf) {
			// A short read of a regular file is its end: no second
			// read to see 0 bytes.
			return buf, nil
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			return nil, &os.PathError{Op: "stat", Path: path, Err: err}
		}
		grown := make([]byte, len(buf), max(int64(2*cap(buf)), st.Size+1))
		copy(grown, buf)
		buf = grown
	}
}

// direntBufs holds ReadDirNames' buffers: a broker lists thousands of
// partition directories at start.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 8192); return &b }}

// ReadDirNames returns the names in directory dir, unsorted, with one
// open, the getdents calls the directory needs, and a close (os.ReadDir
// also registers the directory with the poller and sorts).
func ReadDirNames(dir string) ([]string, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer syscall.Close(fd)
	var names []string
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	for {
		n, err := syscall.ReadDirent(fd, buf)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read directory %s: %w", dir, err)
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names)
	}
}

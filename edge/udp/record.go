package udp

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pitwall/pitwall/telemetry"
)

// recorder writes each car's positions and the game's lap markers to
// DIR/CAR.csv (Config.Record) in the form `pitwall track derive --planar`
// reads: a header "time,x,z,lap", a row "seconds,x,z,lap" per frame with
// a position, and a row "seconds,,,lap" at each lap marker's own time, lap
// being the game's number of the lap that starts there (0 before the
// first marker, so the first marker counts as one too). Derive puts
// start/finish where the markers are.
type recorder struct {
	dir    string
	log    *slog.Logger
	x, z   int32 // channel ids of pos_x, pos_z and device_lap
	mark   int32
	files  map[string]*recFile
	failed bool // a write failed: recording stopped (logged once)
}

type recFile struct {
	f   *os.File
	w   *bufio.Writer
	lap string
	buf []byte
}

func newRecorder(dir string, x, z, mark int32, log *slog.Logger) *recorder {
	return &recorder{dir: dir, log: log, x: x, z: z, mark: mark, files: map[string]*recFile{}}
}

// frame records one frame of a car.
func (r *recorder) frame(f *telemetry.Frame) {
	if r == nil || r.failed {
		return
	}
	rf, err := r.file(f.Car)
	if err == nil {
		b := rf.buf[:0]
		if v, ok := f.Value(r.mark); ok {
			rf.lap = strconv.FormatFloat(v, 'f', -1, 64)
			b = append(appendSeconds(b, f.TimeNs), ",,,"...)
			b = append(append(b, rf.lap...), '\n')
		}
		x, okx := f.Value(r.x)
		z, okz := f.Value(r.z)
		if okx && okz {
			b = append(appendSeconds(b, f.TimeNs), ',')
			b = append(strconv.AppendFloat(b, x, 'f', -1, 32), ',')
			b = append(strconv.AppendFloat(b, z, 'f', -1, 32), ',')
			b = append(append(b, rf.lap...), '\n')
		}
		rf.buf = b
		_, err = rf.w.Write(b)
	}
	if err != nil {
		r.fail(err)
	}
}

func appendSeconds(b []byte, ns int64) []byte {
	return fmt.Appendf(b, "%d.%09d", ns/1e9, ns%1e9)
}

func (r *recorder) file(car string) (*recFile, error) {
	if rf := r.files[car]; rf != nil {
		return rf, nil
	}
	f, err := os.OpenFile(filepath.Join(r.dir, car+".csv"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	rf := &recFile{f: f, w: bufio.NewWriterSize(f, 64<<10), lap: "0"}
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		rf.w.WriteString("time,x,z,lap\n")
	}
	r.files[car] = rf
	return rf, nil
}

// flush writes out what is buffered (on a quiet read, so the file is
// current while the game is paused).
func (r *recorder) flush() {
	if r == nil || r.failed {
		return
	}
	for _, rf := range r.files {
		if err := rf.w.Flush(); err != nil {
			r.fail(err)
			return
		}
	}
}

func (r *recorder) fail(err error) {
	r.failed = true
	r.log.Error("udp: recording the session stopped", "dir", r.dir, "err", err)
}

// close flushes and closes every file.
func (r *recorder) close() {
	if r == nil {
		return
	}
	r.flush()
	for _, rf := range r.files {
		rf.f.Close()
	}
}

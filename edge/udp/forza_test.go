package udp

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pitwall/pitwall/edge/source"
	"github.com/pitwall/pitwall/edge/source/sourcetest"
	"github.com/pitwall/pitwall/track"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func putF(b []byte, o int, v float32) { binary.LittleEndian.PutUint32(b[o:], math.Float32bits(v)) }

// forzaPacket lays out a Data Out packet of size bytes by the published
// offsets: Sled fields at their place, the dash at 232 (244 on Horizon).
func forzaPacket(size int, ts uint32, lap uint16, curLap, lastLap float32) []byte {
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b[0:], 1)  // IsRaceOn
	binary.LittleEndian.PutUint32(b[4:], ts) // TimestampMS
	putF(b, 16, 6500)                        // CurrentEngineRpm
	putF(b, 20, -9.80665)                    // AccelerationX: 1 g to the left
	putF(b, 32, 30)                          // VelocityX
	putF(b, 40, 40)                          // VelocityZ
	if size == ForzaSledLen {
		return b
	}
	d := 232
	if size == ForzaHorizon {
		d = 244
	}
	putF(b, d, 100.5)                            // PositionX
	putF(b, d+8, -200.25)                        // PositionZ
	putF(b, d+12, 50)                            // Speed, m/s
	putF(b, d+56, lastLap)                       // LastLap
	putF(b, d+60, curLap)                        // CurrentLap
	binary.LittleEndian.PutUint16(b[d+68:], lap) // LapNumber
	b[d+71], b[d+72], b[d+75] = 255, 0, 4        // Accel, Brake, Gear
	return b
}

func TestParseForza(t *testing.T) {
	sled, err := ParseForza(forzaPacket(ForzaSledLen, 1000, 0, 0, 0))
	if err != nil || sled.Dash || !sled.IsRaceOn || sled.TimestampMs != 1000 || sled.RPM != 6500 || sled.VelZ != 40 {
		t.Fatalf("sled %+v %v", sled, err)
	}
	for _, size := range []int{ForzaDashLen, ForzaHorizon, ForzaFM2023Len} {
		p, err := ParseForza(forzaPacket(size, 2000, 3, 12.5, 61.25))
		if err != nil || !p.Dash || p.X != 100.5 || p.Z != -200.25 || p.SpeedMs != 50 || p.LapNumber != 3 ||
			p.CurrentLapS != 12.5 || p.LastLapS != 61.25 || p.Accel != 255 || p.Gear != 4 {
			t.Fatalf("%d bytes: %+v %v", size, p, err)
		}
	}
	for _, size := range []int{0, 231, 233, 310, 400} {
		if _, err := ParseForza(make([]byte, size)); err == nil {
			t.Fatalf("a %d-byte packet was taken", size)
		}
	}
}

// Forza packets make frames of the configured car at the game's clock;
// LapNumber moving on makes a lap marker at the crossing; a paused game
// (IsRaceOn 0) makes nothing; a Sled packet has speed from its velocity.
func TestForzaStream(t *testing.T) {
	sk := sourcetest.New()
	st := newForzaStream("car09", "", 60, sk)
	recv := time.Unix(1_800_000_000, 0)
	st.packet(forzaPacket(ForzaDashLen, 5000, 0, 4.9, 0), recv)
	st.packet(forzaPacket(ForzaDashLen, 5016, 0, 4.916, 0), recv)
	st.packet(forzaPacket(ForzaDashLen, 5033, 1, 0.010, 83.5), recv)
	paused := forzaPacket(ForzaDashLen, 5050, 1, 0.027, 83.5)
	binary.LittleEndian.PutUint32(paused, 0)
	st.packet(paused, recv)
	st.packet(forzaPacket(ForzaSledLen, 5066, 0, 0, 0), recv)
	st.packet(make([]byte, 100), recv)
	if len(sk.Catalogs) != 1 || sk.Catalogs[0].Car != "car09" || sk.Reasons[source.ReasonMalformed] != 1 {
		t.Fatalf("catalogs %v, bad %v", sk.Catalogs, sk.Reasons)
	}
	if len(sk.Frames) != 5 {
		t.Fatalf("%d frames, want 5 (3 dash, a lap marker, a sled)", len(sk.Frames))
	}
	anchor := recv.UnixNano() - 5000e6
	mark := sk.Frames[2]
	if dl, _ := mark.Value(fzDeviceLap); dl != 2 || mark.TimeNs != anchor+5033e6-10e6 {
		t.Fatalf("marker %+v at %d, want lap 2 at %d", mark, mark.TimeNs, anchor+5033e6-10e6)
	}
	if ll, _ := mark.Value(fzLastLap); ll != 83.5 {
		t.Fatalf("last lap %v", ll)
	}
	if v, _ := sk.Frames[0].Value(fzSpeed); v != 180 {
		t.Fatalf("dash speed %v km/h", v)
	}
	if v, _ := sk.Frames[0].Value(fzGLat); math.Abs(v-1) > 1e-6 { // float32 on the wire
		t.Fatalf("g_lat %v", v)
	}
	if v, _ := sk.Frames[4].Value(fzSpeed); math.Abs(v-180) > 1e-9 || sk.Frames[4].TimeNs != anchor+5066e6 {
		t.Fatalf("sled speed %v km/h at %d", v, sk.Frames[4].TimeNs)
	}
}

// FuzzForza: no panic, only valid frames.
func FuzzForza(f *testing.F) {
	f.Add(forzaPacket(ForzaDashLen, 1, 0, 0, 0), forzaPacket(ForzaHorizon, 2, 1, 0.5, 60))
	f.Add(forzaPacket(ForzaSledLen, 9, 0, 0, 0), []byte{1})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		sk := sourcetest.New()
		st := newForzaStream("car01", "", 60, sk)
		recv := time.Unix(1_800_000_000, 0)
		for _, d := range [][]byte{a, b, a} {
			st.packet(d, recv)
		}
		if len(sk.Frames) > 0 && len(sk.Catalogs) != 1 {
			t.Fatal("frames without the catalog")
		}
	})
}

// record=DIR writes the car's positions and the game's lap markers in
// the CSV `pitwall track derive --planar` reads: a row at each marker's
// own time, the lap column changing there.
func TestRecord(t *testing.T) {
	dir := t.TempDir()
	sk := sourcetest.New()
	st := newForzaStream("car09", "", 60, sk)
	st.rec = newRecorder(dir, fzPosX, fzPosZ, fzDeviceLap, quiet())
	recv := time.Unix(1_800_000_000, 0)
	st.packet(forzaPacket(ForzaDashLen, 5000, 0, 4.9, 0), recv)
	st.packet(forzaPacket(ForzaDashLen, 5033, 1, 0.010, 83.5), recv)
	st.idle(recv)
	st.rec.close()
	b, err := os.ReadFile(filepath.Join(dir, "car09.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := "time,x,z,lap\n" +
		"1800000000.000000000,100.5,-200.25,0\n" +
		"1800000000.023000000,,,2\n" +
		"1800000000.033000000,100.5,-200.25,2\n"
	if string(b) != want {
		t.Fatalf("recorded\n%s\nwant\n%s", b, want)
	}
	fixes, markers, err := track.ReadFixesCSV(bytes.NewReader(b), true)
	if err != nil || len(fixes) != 2 || len(markers) != 1 || markers[0] != 1_800_000_000_023_000_000 {
		t.Fatalf("read back %d fixes, markers %v, %v", len(fixes), markers, err)
	}
}

// A lap counter that goes back (a restarted race, an F1 flashback) is no
// crossing: no lap marker.
func TestLapCounterBackIsNoMarker(t *testing.T) {
	count := func(sk *sourcetest.Sink, id int32) (n int) {
		for _, f := range sk.Frames {
			if _, ok := f.Value(id); ok {
				n++
			}
		}
		return n
	}
	recv := time.Unix(1_800_000_000, 0)
	sk := sourcetest.New()
	fz := newForzaStream("car01", "", 60, sk)
	fz.packet(forzaPacket(ForzaDashLen, 1000, 3, 50, 80), recv)
	fz.packet(forzaPacket(ForzaDashLen, 1016, 0, 0.016, 0), recv)
	fz.packet(forzaPacket(ForzaDashLen, 1033, 1, 0.010, 80), recv)
	if n := count(sk, fzDeviceLap); n != 1 {
		t.Fatalf("forza: %d lap markers, want 1 (0 → 1, not 3 → 0)", n)
	}

	sk = sourcetest.New()
	f1 := newF1Stream("car", "", 20, sk, quiet())
	p := f1Packet(F1PacketParticipants, 10, 1)
	p[29] = 1
	f1.packet(p, recv)
	for i, lap := range []uint8{5, 4, 5} {
		b := f1Packet(F1PacketLapData, 10+float32(i)/20, 2+uint32(i))
		b[29+33] = lap
		f1.packet(b, recv)
	}
	f1.idle(recv)
	if n := count(sk, f1DeviceLap); n != 1 {
		t.Fatalf("f1: %d lap markers, want 1 (4 → 5, not 5 → 4)", n)
	}
}

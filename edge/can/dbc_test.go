package can

import (
	"errors"
	"math"
	"testing"

	einride "go.einride.tech/can"

	"github.com/pitwall/pitwall/simulator"
	"github.com/pitwall/pitwall/telemetry"
)

func simDecoder(t testing.TB) *Decoder {
	t.Helper()
	dec, err := NewDecoder("pitwall.dbc", simulator.DBC, 100)
	if err != nil {
		t.Fatal(err)
	}
	return dec
}

// The simulator's DBC decodes what its encoder would put on the bus.
func TestDecoderWithSimulatorDBC(t *testing.T) {
	dec := simDecoder(t)
	cat := dec.Catalog("car44", "s1", 1)
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	speed, ok := cat.ByName(telemetry.ChanSpeed)
	if !ok || speed.Unit != "km/h" || speed.Max != 400 {
		t.Fatalf("speed channel: %+v %v", speed, ok)
	}
	steer, _ := cat.ByName(telemetry.ChanSteering)
	lat, _ := cat.ByName(telemetry.ChanGPSLat)
	lon, _ := cat.ByName(telemetry.ChanGPSLon)

	// ENGINE (0x100): rpm 0|16 unsigned, throttle 16|16 ×0.1, speed 32|16 ×0.1, steering 48|16 signed ×0.1.
	var d einride.Data
	d.SetUnsignedBitsLittleEndian(0, 16, 7250)
	d.SetUnsignedBitsLittleEndian(16, 16, 873)
	d.SetUnsignedBitsLittleEndian(32, 16, 2518)
	d.SetSignedBitsLittleEndian(48, 16, -1234)
	got, err := dec.Decode(&Frame{ID: 0x100, Len: 8, Data: d}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := map[int32]float64{}
	for _, s := range got {
		v[s.ID] = s.Value
	}
	if len(got) != 4 || math.Abs(v[speed.ID]-251.8) > 1e-9 || math.Abs(v[steer.ID]+123.4) > 1e-9 {
		t.Fatalf("ENGINE decoded to %v", got)
	}
	// GPS_POS (0x1A0): two signed 32-bit signals ×1e-7.
	d = einride.Data{}
	d.SetSignedBitsLittleEndian(0, 32, 456201234)
	d.SetSignedBitsLittleEndian(32, 32, 92812345)
	got, _ = dec.Decode(&Frame{ID: 0x1A0, Len: 8, Data: d}, nil)
	if len(got) != 2 || got[0].ID != lat.ID || math.Abs(got[0].Value-45.6201234) > 1e-9 || got[1].ID != lon.ID || math.Abs(got[1].Value-9.2812345) > 1e-9 {
		t.Fatalf("GPS_POS decoded to %v", got)
	}
	if _, err := dec.Decode(&Frame{ID: 0x7AB, Len: 8}, nil); !errors.Is(err, ErrUnknownID) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := dec.Decode(&Frame{ID: 0x100, Len: 4}, nil); !errors.Is(err, ErrShortFrame) {
		t.Fatalf("short frame: %v", err)
	}
	if got, err := dec.Decode(&Frame{ID: 0x100, Remote: true, Len: 8}, nil); err != nil || len(got) != 0 {
		t.Fatalf("remote frame: %v %v", got, err)
	}
}

const muxDBC = `VERSION ""
NS_ :
BS_:
BU_: ECU
BO_ 500 MUXED: 8 ECU
 SG_ page M : 0|8@1+ (1,0) [0|3] "" Vector__XXX
 SG_ temp m0 : 8|16@1- (0.1,-40) [-40|200] "deg C" Vector__XXX
 SG_ press m1 : 8|16@1+ (0.01,0) [0|10] "bar" Vector__XXX
 SG_ be_val : 31|12@0+ (1,0) [0|0] "" Vector__XXX
BA_DEF_ BO_ "GenMsgCycleTime" INT 0 10000;
BA_ "GenMsgCycleTime" BO_ 500 20;
`

// Multiplexed signals appear only for their page; big-endian signals,
// offsets, cycle times and unit clean-up work.
func TestDecoderMultiplexAndBigEndian(t *testing.T) {
	dec, err := NewDecoder("mux.dbc", []byte(muxDBC), 100)
	if err != nil {
		t.Fatal(err)
	}
	cat := dec.Catalog("c", "", 1)
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	temp, _ := cat.ByName("temp")
	be, _ := cat.ByName("be_val")
	if temp.RateHz != 50 || temp.Unit != "deg_C" || be.Max != 4095 {
		t.Fatalf("catalog: temp %+v, be_val %+v", temp, be)
	}
	var d einride.Data
	d.SetUnsignedBitsLittleEndian(0, 8, 0) // page 0: temp
	d.SetSignedBitsLittleEndian(8, 16, 1000)
	d.SetUnsignedBitsBigEndian(31, 12, 0xABC)
	got, err := dec.Decode(&Frame{ID: 500, Len: 8, Data: d}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []telemetry.Sample{{ID: 0, Value: 0}, {ID: temp.ID, Value: 60}, {ID: be.ID, Value: 0xABC}}
	if len(got) != 3 || got[0] != want[0] || math.Abs(got[1].Value-60) > 1e-9 || got[2] != want[2] {
		t.Fatalf("page 0 decoded to %v, want %v", got, want)
	}
	d.SetUnsignedBitsLittleEndian(0, 8, 1) // page 1: press
	got, _ = dec.Decode(&Frame{ID: 500, Len: 8, Data: d}, nil)
	press, _ := cat.ByName("press")
	if len(got) != 3 || got[1].ID != press.ID || math.Abs(got[1].Value-10) > 1e-9 {
		t.Fatalf("page 1 decoded to %v", got)
	}
}

func TestBadDBC(t *testing.T) {
	for name, src := range map[string]string{
		"syntax":    "BO_ x",
		"empty":     `VERSION ""`,
		"fd":        "BO_ 1 BIG: 64 ECU\n SG_ a : 0|8@1+ (1,0) [0|1] \"\" Vector__XXX\n",
		"overflow":  "BO_ 1 M: 8 ECU\n SG_ a : 60|8@1+ (1,0) [0|1] \"\" Vector__XXX\n",
		"no factor": "BO_ 1 M: 8 ECU\n SG_ a : 0|8@1+ (0,0) [0|1] \"\" Vector__XXX\n",
	} {
		if _, err := NewDecoder(name, []byte(src), 100); !errors.Is(err, ErrDBC) {
			t.Errorf("%s: %v, want ErrDBC", name, err)
		}
	}
}

// FuzzDecode: any id and data decode by the simulator's DBC without
// panicking, to finite values.
func FuzzDecode(f *testing.F) {
	dec := simDecoder(f)
	f.Add(uint32(0x100), uint8(8), []byte{1, 2, 3, 4, 5, 6, 7, 8}, false)
	f.Add(uint32(0x1A0), uint8(8), []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x80}, false)
	f.Add(uint32(0x131), uint8(2), []byte{0x80, 0}, true)
	f.Fuzz(func(t *testing.T, id uint32, n uint8, data []byte, remote bool) {
		fr := Frame{ID: id & MaxStandardID, Len: n % 9, Remote: remote}
		copy(fr.Data[:], data)
		samples, _ := dec.Decode(&fr, nil)
		for _, s := range samples {
			if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
				t.Fatalf("%+v decoded to %v", fr, s)
			}
		}
	})
}

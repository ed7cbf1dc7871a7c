package track

import (
	"fmt"
	"sort"
	"sync"
)

// The built-in tracks. Lengths and locations are the real circuits';
// layouts are approximations from their corner sequence (a segment per
// straight or corner), close enough for believable speed traces, not for
// survey work.
var builtinDefs = []Def{
	{
		Name: "monza", Title: "Autodromo Nazionale Monza (GP circuit)",
		Length: 5793, Origin: LatLon{Lat: 45.61865, Lon: 9.28116}, Heading: 5, Width: 12,
		StartAt: 0.45, Sectors: []float64{0.33, 0.66},
		PitIn: 380, PitOut: 420, PitBox: 120, PitSide: -1, PitLimit: 80,
		Segments: []Segment{
			S(1100),                     // pit straight
			R(22, 90), S(15), L(22, 90), // Variante del Rettifilo
			S(150), R(330, 90), // Curva Biassono (Curva Grande)
			S(250),                      //
			L(28, 60), S(10), R(28, 60), // Variante della Roggia
			S(260), R(70, 90), // Lesmo 1
			S(170), R(55, 45), // Lesmo 2
			S(480), L(900, 15), S(300), // Serraglio, under the bridge
			L(80, 45), R(55, 75), L(120, 60), // Variante Ascari
			S(450),                // back straight
			R(95, 90), R(210, 90), // Curva Alboreto (Parabolica)
		},
	},
	{
		Name: "spa", Title: "Circuit de Spa-Francorchamps",
		Length: 7004, Origin: LatLon{Lat: 50.43722, Lon: 5.97139}, Heading: 300, Width: 12,
		StartAt: 0.6, Sectors: []float64{0.31, 0.71},
		PitIn: 185, PitOut: 100, PitBox: 110, PitSide: 1, PitLimit: 60,
		Segments: []Segment{
			S(460),                           // start/finish straight
			R(18, 165),                       // La Source
			S(520),                           // down to Eau Rouge
			L(70, 40), R(90, 65), L(160, 25), // Eau Rouge, Raidillon
			S(700), R(1500, 10), S(550), // Kemmel straight
			R(45, 70), L(45, 70), R(70, 60), // Les Combes, Malmedy
			S(320), R(25, 150), // Bruxelles (Rivage)
			S(250), L(110, 45), S(220), // no-name corner
			L(140, 70), S(60), L(140, 70), // Pouhon
			S(330), R(55, 70), L(65, 40), // Fagnes
			S(250), R(80, 150), // Campus, Stavelot
			S(650), R(450, 50), // Paul Frère
			S(200), L(320, 90), // Blanchimont
			S(620), R(22, 90), L(22, 70), // Bus Stop chicane
		},
	},
	{
		Name: "brands-indy", Title: "Brands Hatch (Indy circuit)",
		Length: 1929, Origin: LatLon{Lat: 51.35725, Lon: 0.26206}, Heading: 80, Width: 10,
		StartAt: 0.55, Sectors: []float64{0.34, 0.67},
		PitIn: 160, PitOut: 150, PitBox: 60, PitSide: 1, PitLimit: 60,
		Segments: []Segment{
			S(420),           // Brabham straight
			R(70, 50),        // Paddock Hill bend
			S(160),           // Hailwood hill
			R(22, 170),       // Druids
			S(90), L(60, 60), // Graham Hill bend
			S(250), L(90, 15), // Cooper straight, Surtees
			S(90), R(60, 45), // McLaren
			S(120), R(85, 110), // Clearways
			S(40), R(110, 60), // Clark curve
		},
	},
}

var (
	buildOnce sync.Once
	built     map[string]*Track
	buildErr  error
)

// Builtin returns the built-in tracks, sorted by name. They are built
// once, on first use, and shared: callers must not modify them.
func Builtin() ([]*Track, error) {
	buildOnce.Do(func() {
		built = make(map[string]*Track)
		for _, d := range builtinDefs {
			t, err := d.Build()
			if err != nil {
				buildErr = err
				return
			}
			built[d.Name] = t
		}
	})
	if buildErr != nil {
		return nil, buildErr
	}
	out := make([]*Track, 0, len(built))
	for _, t := range built {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Def.Name < out[j].Def.Name })
	return out, nil
}

// Lookup returns the built-in track called name.
func Lookup(name string) (*Track, error) {
	ts, err := Builtin()
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.Def.Name == name {
			return t, nil
		}
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Def.Name
	}
	return nil, fmt.Errorf("%w: no track %q (have %v)", ErrInvalid, name, names)
}

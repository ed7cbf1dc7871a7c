package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pitwall/pitwall/telemetry"
)

// ErrDrivers is wrapped by every error of a drivers file.
var ErrDrivers = errors.New("web: bad drivers file")

// Driver is who drives a car: what the tower and the map show for it.
type Driver struct {
	// Number is the race number, e.g. "44".
	Number string `yaml:"number" json:"number"`
	// Name is the driver's name.
	Name string `yaml:"name" json:"name"`
	// Team is the team's name.
	Team string `yaml:"team" json:"team"`
	// Colour is the team colour, #rrggbb.
	Colour string `yaml:"colour" json:"colour"`
}

// Drivers maps car ids to drivers. A car not in it is shown by its id
// with a colour of its own.
type Drivers map[string]Driver

// palette colours cars the drivers file does not name: distinct on the
// dark page, none of them the timing colours.
var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
	"#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#17becf", "#bcbd22"}

// Of returns car's driver, filled in where the file left fields out.
func (d Drivers) Of(car string) Driver {
	dr := d[car]
	if dr.Number == "" {
		dr.Number = strings.TrimLeft(strings.TrimLeftFunc(car, func(r rune) bool { return r < '0' || r > '9' }), "0")
		if dr.Number == "" {
			dr.Number = car
		}
	}
	if dr.Name == "" {
		dr.Name = car
	}
	if dr.Colour == "" {
		var h uint32 = 2166136261
		for i := 0; i < len(car); i++ {
			h = (h ^ uint32(car[i])) * 16777619
		}
		dr.Colour = palette[h%uint32(len(palette))]
	}
	return dr
}

var colourRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// LoadDrivers reads a drivers file (YAML):
//
//	car01: {number: "44", name: Lewis Hamilton, team: Ferrari, colour: "#dc0000"}
//	car02: {number: "1", name: Max Verstappen, team: Red Bull, colour: "#1e41ff"}
func LoadDrivers(path string) (Drivers, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDrivers, err)
	}
	return ParseDrivers(b)
}

// ParseDrivers parses the YAML of a drivers file (see LoadDrivers).
func ParseDrivers(b []byte) (Drivers, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var d Drivers
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the file is empty; want one line per car: car01: {number: \"44\", name: ..., team: ..., colour: \"#rrggbb\"}", ErrDrivers)
		}
		return nil, fmt.Errorf("%w: %w", ErrDrivers, err)
	}
	for car, dr := range d {
		if !telemetry.ValidCar(car) {
			return nil, fmt.Errorf("%w: %q is not a car id", ErrDrivers, car)
		}
		if dr.Colour != "" && !colourRE.MatchString(dr.Colour) {
			return nil, fmt.Errorf("%w: %s: colour %q, want #rrggbb", ErrDrivers, car, dr.Colour)
		}
		if len(dr.Number) > 4 || len(dr.Name) > 64 || len(dr.Team) > 64 {
			return nil, fmt.Errorf("%w: %s: number (4), name or team (64 characters) too long", ErrDrivers, car)
		}
	}
	return d, nil
}

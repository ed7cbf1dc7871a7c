package edge

import (
	"fmt"
	"strconv"
)

// buildOtherSource makes the sources other than serial.
func (e *Edge) buildOtherSource(in Input, stats *sourceStats) (*source, error) {
	return nil, fmt.Errorf("%w: input %s: kind %s not supported", ErrConfig, in.Name, in.Kind)
}

// intParam reads an integer query parameter; 0 when absent.
func intParam(in Input, name string) (int, error) {
	v := in.Params.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: input %s: %s=%q is not a count", ErrConfig, in.Name, name, v)
	}
	return n, nil
}

package main

import (
	"context"
	"strings"
	"testing"
)

// Bad flags are refused before anything connects.
func TestProcessFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--track", "nowhere"}, "no track"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--edge-metrics", "edge:9464,edge"}, "--edge-metrics"},
	} {
		err := runProcess(context.Background(), tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

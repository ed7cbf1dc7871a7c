package cli

import (
	"flag"
	"strings"
	"testing"
)

func TestParseInterleavedDoubleDash(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	v := fs.Bool("v", false, "")
	pos, err := ParseInterleaved(fs, []string{"a", "-v", "b", "--", "-c", "d"})
	if err != nil {
		t.Fatal(err)
	}
	if !*v || strings.Join(pos, ",") != "a,b,-c,d" {
		t.Errorf("positional %q v=%v, want a,b,-c,d and v", pos, *v)
	}
}

func TestSplitBrokers(t *testing.T) {
	got, err := SplitBrokers(" 127.0.0.1:9092, ,127.0.0.2:9092")
	if err != nil || strings.Join(got, ",") != "127.0.0.1:9092,127.0.0.2:9092" {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := SplitBrokers(" , "); err == nil {
		t.Error("an empty broker list was accepted")
	}
}

package kafkasec

import (
	"strings"
	"testing"
)

// Redact takes source names built from user input (--in, --out,
// --influx-url): whatever the rest of the URL holds, a password put in its
// user info never comes out, the user does, and a name without one is
// left as it was.
func FuzzRedact(f *testing.F) {
	for _, seed := range [][3]string{
		{"mqtt", "edge", "cars/+/telemetry"},
		{"mqtts", "a@b", "x?ca=/ca.pem&password=zz"},
		{"http", "admin", ""},
		{"mqtt", "u", "#"},
		{"x", "u", "://a:b@c/d"},
	} {
		f.Add(seed[0], seed[1], seed[2], "s3cret")
	}
	f.Fuzz(func(t *testing.T, scheme, user, rest, password string) {
		if strings.ContainsAny(scheme, ":/?@") || strings.ContainsAny(user, ":/?") || strings.ContainsAny(password, "@/?") || len(password) < 4 ||
			strings.Contains(scheme+user, password) || strings.Contains(rest, password) || strings.Contains("127.0.0.1:1883", password) {
			return // not a password in user info, or one the name holds elsewhere anyway
		}
		in := scheme + "://" + user + ":" + password + "@127.0.0.1:1883/" + rest
		out := Redact(in)
		if strings.Contains(out, password) {
			t.Fatalf("Redact(%q) = %q keeps the password", in, out)
		}
		if !strings.Contains(out, user+"@127.0.0.1:1883") {
			t.Fatalf("Redact(%q) = %q loses the user", in, out)
		}
		if plain := scheme + "://127.0.0.1:1883/" + rest; !strings.ContainsAny(rest, "?@") && Redact(plain) != plain {
			t.Fatalf("Redact(%q) = %q changes a name without secrets", plain, Redact(plain))
		}
	})
}

package auth

import (
	"testing"
)

// FuzzParseClientFirst: any bytes parse or fail, never panic; a parse
// that succeeds has a user and a nonce.
func FuzzParseClientFirst(f *testing.F) {
	for _, s := range []string{"n,,n=edge,r=abc", "y,,n=a=2Cb,r=x", "n,a=edge,n=edge,r=x,tokenauth=true", ",,n=u,r=x", "p=tls,,n=u,r=x", "n,,", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cf, err := ParseClientFirst(s)
		if err == nil && (cf.User == "" || cf.Nonce == "") {
			t.Fatalf("%q parsed to %+v", s, cf)
		}
	})
}

// FuzzParseClientFinal: any bytes parse or fail, never panic; a parse
// that succeeds has a proof of the hash's size.
func FuzzParseClientFinal(f *testing.F) {
	for _, s := range []string{"c=biws,r=abc,p=" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "c=biws,r=x,p=", "c=,r=,p=AA==", "r=x,c=biws,p=x", ","} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cf, err := ParseClientFinal(s, 32)
		if err == nil && len(cf.Proof) != 32 {
			t.Fatalf("%q parsed to a %d-byte proof", s, len(cf.Proof))
		}
	})
}

// FuzzParsePlain: any bytes parse or fail, never panic.
func FuzzParsePlain(f *testing.F) {
	for _, s := range []string{"\x00edge\x00pw", "a\x00b\x00c", "\x00\x00", "abc", "\x00a\x00b\x00c"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParsePlain(b)
		if err == nil && (m.User == "" || m.Password == "") {
			t.Fatalf("%q parsed to %+v", b, m)
		}
	})
}

// FuzzSCRAMSession: a SCRAM session stepped with any two messages, for a
// real user or not, never panics (the library it wraps indexes fields
// it has not checked), and never succeeds without the password.
func FuzzSCRAMSession(f *testing.F) {
	users, _ := newUsers(f)
	a := NewAuthenticator(users)
	f.Add("n,,n=edge,r=abc", "c=biws,r=abc,p=AAAA", true)
	f.Add(",,n=edge,r=abc", "", false)
	f.Add("n,,n=edge,r=abc", "c=biws,r=abcdef,p="+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false)
	f.Fuzz(func(t *testing.T, first, final string, sha512 bool) {
		mech := ScramSHA256
		if sha512 {
			mech = ScramSHA512
		}
		sess, err := a.Start(mech)
		if err != nil {
			t.Fatal(err)
		}
		out, done, err := sess.Step([]byte(first))
		if err != nil || done {
			return
		}
		// Echo the server's nonce, as a client would, to reach the proof check.
		if nonce, ok := cutNonce(string(out)); ok && len(final) > 0 && final[0] == '@' {
			final = "c=biws,r=" + nonce + final[1:]
		}
		if _, _, err := sess.Step([]byte(final)); err == nil {
			t.Fatalf("logged in without the password: %q then %q", first, final)
		}
	})
}

func cutNonce(serverFirst string) (string, bool) {
	if len(serverFirst) < 2 || serverFirst[:2] != "r=" {
		return "", false
	}
	for i := 2; i < len(serverFirst); i++ {
		if serverFirst[i] == ',' {
			return serverFirst[2:i], true
		}
	}
	return "", false
}

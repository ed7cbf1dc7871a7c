package kafkasec

import "strings"

// Redact returns s with any password in it dropped, keeping the user: a
// URL's "scheme://user:secret@host" becomes "scheme://user@host", and the
// values of query parameters named like a secret (password, pass, passwd,
// secret, token) become "redacted". Everything else is left byte for byte
// as it was (an MQTT filter's "+" and "#" included), so a redacted name
// still says which source it is. Source names in status lines, logs,
// metric labels and dead-letter records go through it.
func Redact(s string) string {
	// Every "://" starts an authority (a malformed name may hold several).
	for from := 0; ; {
		i := strings.Index(s[from:], "://")
		if i < 0 {
			break
		}
		start := from + i + 3
		end := len(s)
		if j := strings.IndexAny(s[start:], "/?"); j >= 0 {
			end = start + j
		}
		if at := strings.LastIndex(s[start:end], "@"); at >= 0 {
			if colon := strings.Index(s[start:start+at], ":"); colon >= 0 {
				s = s[:start+colon] + s[start+at:]
			}
		}
		from = start
	}
	base, query, ok := strings.Cut(s, "?")
	if !ok {
		return s
	}
	params := strings.Split(query, "&")
	for i, p := range params {
		k, _, hasValue := strings.Cut(p, "=")
		if hasValue && secretParam(k) {
			params[i] = k + "=redacted"
		}
	}
	return base + "?" + strings.Join(params, "&")
}

func secretParam(name string) bool {
	switch strings.ToLower(name) {
	case "password", "pass", "passwd", "secret", "token":
		return true
	}
	return false
}

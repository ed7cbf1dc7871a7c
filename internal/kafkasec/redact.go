package kafkasec

import (
	"net/url"
	"strings"
)

// Redact returns s with any password in it dropped, keeping the user: a
// URL's userinfo "user:secret@" becomes "user@". Query parameters named
// like a secret (password, pass, passwd, secret, token) lose their value
// too. s that is no URL is returned as it is if it holds no "@" and
// "[redacted]" otherwise, so a name that cannot be parsed never leaks.
// Source names in status lines, logs, metric labels and dead-letter
// records go through it.
func Redact(s string) string {
	if !strings.ContainsAny(s, "@?") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return "[redacted]"
		}
		return s
	}
	changed := false
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.User(u.User.Username())
			changed = true
		}
	}
	if u.RawQuery != "" {
		q, qchanged := u.Query(), false
		for k := range q {
			if secretParam(k) {
				q.Set(k, "redacted")
				qchanged = true
			}
		}
		if qchanged {
			u.RawQuery = q.Encode()
			changed = true
		}
	}
	if !changed {
		return s
	}
	return u.String()
}

func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"password", "pass", "passwd", "secret", "token"} {
		if n == w {
			return true
		}
	}
	return false
}

package web

import (
	"strconv"
	"time"
)

// seconds formats d as s.mmm.
func seconds(d time.Duration) string {
	ms := d.Round(time.Millisecond).Milliseconds()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	frac := strconv.FormatInt(ms%1000+1000, 10)[1:]
	return sign + strconv.FormatInt(ms/1000, 10) + "." + frac
}

func itoa(n int) string { return strconv.Itoa(n) }

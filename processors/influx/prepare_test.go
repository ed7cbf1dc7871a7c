package influx_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/pitwall/pitwall/processors/influx"
	"github.com/pitwall/pitwall/processors/influx/influxtest"
)

func TestValidateURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want string // "" for valid
	}{
		{"http://127.0.0.1:8086", ""},
		{"https://influx.local:8086/", ""},
		{"127.0.0.1:8086", "want http://HOST:PORT"},
		{"localhost:8086", "want http://HOST:PORT"},
		{"ftp://127.0.0.1:8086", `scheme "ftp"`},
		{"http://", "want http://HOST:PORT"},
		{"ftp://admin:s3cret@127.0.0.1:8086", `"ftp://admin@127.0.0.1:8086": scheme "ftp"`},
		{"http://admin:s3cret%zz@127.0.0.1:8086", `"http://admin@127.0.0.1:8086": want`},
	} {
		err := influx.ValidateURL(tc.url)
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ValidateURL(%q) prints the password: %v", tc.url, err)
		}
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("ValidateURL(%q) = %v, want %q", tc.url, err, tc.want)
		}
		if _, err := influx.New(influx.Config{URL: tc.url}); (err == nil) != (tc.want == "") {
			t.Errorf("New(%q) = %v", tc.url, err)
		}
	}
}

// A fresh InfluxDB has no database: Prepare creates it and writes land.
func TestPrepareCreatesDatabase(t *testing.T) {
	srv := influxtest.StartWith(t, influxtest.Options{NoDatabase: true})
	w, err := influx.New(influx.Config{URL: srv.URL, Bucket: srv.Database})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	if err := w.Write(ctx, []byte("lap,car=car01 lap=1i 1700000000000000000\n")); err == nil {
		t.Fatal("write into a missing database succeeded")
	}
	for range 2 { // the second finds it
		if err := w.Prepare(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(ctx, []byte("lap,car=car01 lap=1i 1700000000000000000\n")); err != nil {
		t.Fatal(err)
	}
	body, err := srv.Query(`SELECT lap FROM lap WHERE car = 'car01'`)
	if err != nil || !strings.Contains(string(body), `"2023-11-14T22:13:20Z",1]`) {
		t.Fatalf("lap not read back: %s %v", body, err)
	}
}

// A user who may write but not create databases gets one clear error
// that says what to run.
func TestPrepareNotAllowed(t *testing.T) {
	srv := influxtest.StartWith(t, influxtest.Options{NoDatabase: true, Users: []influxtest.User{
		{Name: "admin", Password: "admin-pw", Admin: true}, {Name: "writer", Password: "writer-pw"}}})
	w, err := influx.New(influx.Config{URL: srv.URL, Bucket: "pitwall", Token: "writer:writer-pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	err = w.Prepare(context.Background())
	if !errors.Is(err, influx.ErrNoBucket) || !strings.Contains(err.Error(), "CREATE DATABASE pitwall") {
		t.Fatalf("Prepare = %v, want ErrNoBucket naming CREATE DATABASE", err)
	}
	if strings.Contains(err.Error(), "writer-pw") {
		t.Fatalf("the password is in the error: %v", err)
	}
	admin, err := influx.New(influx.Config{URL: srv.URL, Bucket: "pitwall/autogen", Token: "admin:admin-pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Prepare(context.Background()); err != nil {
		t.Fatalf("admin Prepare: %v", err)
	}
	// Writes carry the credentials too: accepted with them, refused with
	// a wrong password, which the error does not repeat.
	if err := admin.Write(context.Background(), []byte("lap,car=car01 lap=3i 1700000000000000000\n")); err != nil {
		t.Fatalf("admin Write: %v", err)
	}
	body, err := srv.Query(`SELECT lap FROM lap WHERE car = 'car01'`)
	if err != nil || !strings.Contains(string(body), `"2023-11-14T22:13:20Z",3]`) {
		t.Fatalf("the admin's write not read back: %s %v", body, err)
	}
	wrong, err := influx.New(influx.Config{URL: srv.URL, Bucket: "pitwall", Token: "admin:not-the-pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	err = wrong.Write(context.Background(), []byte("lap,car=car02 lap=1i 1700000000000000000"))
	if !errors.Is(err, influx.ErrWrite) || strings.Contains(err.Error(), "not-the-pw") {
		t.Fatalf("write with a wrong password = %v, want ErrWrite without the password", err)
	}
}

// A server that is not there is an outage, not a configuration error.
func TestPrepareUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	w, err := influx.New(influx.Config{URL: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Prepare(context.Background()); !errors.Is(err, influx.ErrUnavailable) {
		t.Fatalf("Prepare = %v, want ErrUnavailable", err)
	}
}

package broker

// Listeners in Kafka's form: Config.Listen is a comma list of
// [PROTOCOL://]HOST:PORT, one socket per security protocol, and
// Config.Advertise names, per protocol, the address Metadata gives clients
// that came in on that listener.

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/pitwall/pitwall/broker/internal/auth"
)

// listener is one bound socket and what its connections speak.
type listener struct {
	proto auth.Protocol
	ln    net.Listener
	// host and port are advertised in Metadata and FindCoordinator to
	// clients connected here.
	host string
	port int32
	// tls wraps accepted connections; nil on PLAINTEXT and SASL_PLAINTEXT.
	tls *tls.Config
}

// wrap returns nc as this listener serves it: a TLS server connection on
// SSL and SASL_SSL (its handshake runs on the connection's goroutine, see
// conn.handshake) over a wire the writer can cork (tls_wire.go), nc
// itself otherwise.
func (l *listener) wrap(nc net.Conn) net.Conn {
	if l.tls == nil {
		return nc
	}
	return tls.Server(&tlsWire{Conn: nc}, l.tls)
}

// listen binds every listener and works out the addresses to advertise.
// On error none is left open.
func (s *Server) listen() error {
	if s.sec == nil {
		sec, err := s.openSecurity()
		if err != nil {
			return err
		}
		s.sec = sec
	}
	eps, _ := auth.ParseEndpoints(s.cfg.Listen) // validated by withDefaults
	adv, _ := parseAdvertise(s.cfg.Advertise, eps)
	for _, ep := range eps {
		l := &listener{proto: ep.Protocol}
		if ep.Protocol.TLS() {
			l.tls = s.sec.tlsConfig(ep.Protocol)
		}
		ln, err := net.Listen("tcp", ep.Addr)
		if err == nil {
			l.ln = ln
			if l.host, l.port, err = advertised(adv[ep.Protocol], ln.Addr()); err != nil {
				ln.Close()
			}
		}
		if err != nil {
			s.closeListeners()
			s.listeners = nil
			return fmt.Errorf("broker: listen %s: %w", ep, err)
		}
		s.listeners = append(s.listeners, l)
	}
	first := s.listeners[0]
	s.ln, s.host, s.port = first.ln, first.host, first.port
	return nil
}

// parseAdvertise maps Config.Advertise's entries to the listeners'
// protocols: [PROTOCOL://]HOST:PORT, bare meaning PLAINTEXT. An entry for
// a protocol no listener speaks is an error.
func parseAdvertise(s string, listeners []auth.Endpoint) (map[auth.Protocol]string, error) {
	m := map[auth.Protocol]string{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	eps, err := auth.ParseEndpoints(s)
	if err != nil {
		return nil, err
	}
	for _, ep := range eps {
		found := false
		for _, l := range listeners {
			found = found || l.Protocol == ep.Protocol
		}
		if !found {
			return nil, fmt.Errorf("advertised %s has no %s listener", ep, ep.Protocol)
		}
		if _, _, err := splitHostPort(ep.Addr); err != nil {
			return nil, fmt.Errorf("advertised %s: %v", ep, err)
		}
		m[ep.Protocol] = ep.Addr
	}
	return m, nil
}

// Addr is the address the first listener is bound to, e.g.
// "127.0.0.1:40123".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// ListenerAddr is the address the listener for protocol (PLAINTEXT, SSL,
// SASL_PLAINTEXT or SASL_SSL) is bound to, or "" if there is none.
func (s *Server) ListenerAddr(protocol string) string {
	for _, l := range s.listeners {
		if string(l.proto) == strings.ToUpper(protocol) {
			return l.ln.Addr().String()
		}
	}
	return ""
}

// listenersString and advertisedString are the listeners in Kafka's form
// for the log, a PLAINTEXT one bare (so a plain broker logs host:port, as
// before listeners had protocols).
func (s *Server) listenersString() string {
	var b []string
	for _, l := range s.listeners {
		b = append(b, endpointString(l.proto, l.ln.Addr().String()))
	}
	return strings.Join(b, ",")
}

func (s *Server) advertisedString() string {
	var b []string
	for _, l := range s.listeners {
		b = append(b, endpointString(l.proto, net.JoinHostPort(l.host, fmt.Sprint(l.port))))
	}
	return strings.Join(b, ",")
}

func endpointString(p auth.Protocol, addr string) string {
	if p == auth.Plaintext {
		return addr
	}
	return string(p) + "://" + addr
}

// acceptLoops runs one accept loop per listener until all have ended; the
// first error any returns (other than the shutdown's) ends them all.
func (s *Server) acceptLoops() error {
	if len(s.listeners) == 1 {
		return s.acceptLoop(s.listeners[0])
	}
	var wg sync.WaitGroup
	errs := make([]error, len(s.listeners))
	for i, l := range s.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = s.acceptLoop(l); errs[i] != nil {
				s.closeListeners()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// closeListeners closes every listener (closing twice is harmless).
func (s *Server) closeListeners() {
	for _, l := range s.listeners {
		if l.ln != nil {
			l.ln.Close()
		}
	}
}

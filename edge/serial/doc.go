// Package serial is the edge's serial-port source: it reads the serial line
// format of package telemetry ($PWF frame lines, $PWC channel lines; see
// telemetry/doc.go) from a UART, a USB serial adapter or a pty, with
// github.com/tarm/serial. Port (port.go) opens and reads a serial device
// for package slcan too; serial.go is the line source, lines.go its
// decoder.
//
// # Data flow
//
//	port ──read (≤64 KiB)──▶ lineDecoder: split at "\n", telemetry.ParseLine
//	     $PWF ──▶ Sink.Frame (session from the car's $PWC lines)
//	     $PWC ──▶ per-car catalog; complete ──▶ Sink.Catalog
//	     bad  ──▶ Sink.Bad(source.Reason…, raw line)
//	     after every read: Sink.Flush (durable before the next read)
//
// After the port is (re)opened, bytes up to the first "$" are the tail of a
// line whose start was never read: they are skipped and counted as a
// source.EventResync note, not as bad input. Empty lines are ignored. A
// line longer than telemetry.MaxLineLen is bad input (its first
// MaxLineLen bytes are reported) and skipped to its end.
//
// # Outages
//
// A USB adapter that is unplugged, or a pty whose other end closes, makes
// the port fail or return end-of-file at once on every read (tarm/serial
// reports a plain read timeout as io.EOF too, but only after ReadTimeout):
// Port.ReadLoop then fails with ErrHangup. Run (through source.Reopen)
// closes the port and reopens it by path every Reopen until it is back,
// logging once when the outage starts and once when it ends, and
// reporting the state through Sink.Up. Bytes sent while the port was gone
// are gone with it (a UART does not buffer for a closed port); bytes that a
// pty buffered are read on reopening. A pty whose other end closed never
// comes back: its /dev/pts number goes to the next pty anyone creates, and
// Port.Open refuses that one (ErrOtherPTY) rather than read another
// program's terminal; a symlink re-created for a new pty (socat link=) is
// followed.
package serial

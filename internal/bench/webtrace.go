package bench

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// traceCategories are what a `bench web --trace` records: the DevTools
// timeline (tasks, script, style, layout, paint, GC) and V8's execution,
// as the Performance panel records them.
var traceCategories = []string{"toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline",
	"disabled-by-default-devtools.timeline.frame", "v8.execute", "blink.user_timing", "v8", "disabled-by-default-v8.gc"}

// pageTrace records a Chromium performance trace of the page (the
// Tracing domain) until stop, which writes it to a file Chromium's
// DevTools, Perfetto or chrome://tracing load ({"traceEvents": [...]}).
type pageTrace struct {
	mu     sync.Mutex
	events [][]byte
	done   chan struct{}
	once   sync.Once
}

// startTrace starts tracing the page of ctx.
func startTrace(ctx context.Context) (*pageTrace, error) {
	pt := &pageTrace{done: make(chan struct{})}
	// Tracing is the browser's: every process of it is traced.
	err := chromedp.ListenBrowser(ctx, func(ev any) {
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			pt.mu.Lock()
			for _, v := range e.Value {
				pt.events = append(pt.events, []byte(v))
			}
			pt.mu.Unlock()
		case *tracing.EventTracingComplete:
			pt.once.Do(func() { close(pt.done) })
		}
	})
	if err == nil {
		_, err = chromedp.CallBrowser(ctx, tracing.Start, tracing.StartParams{TransferMode: tracing.StartTransferModeReportEvents,
			TraceConfig: &tracing.TraceConfig{RecordMode: tracing.TraceConfigRecordModeRecordContinuously,
				TraceBufferSizeInKb: 400 << 10, IncludedCategories: traceCategories}})
	}
	if err != nil {
		return nil, fmt.Errorf("bench web: start tracing: %w", err)
	}
	return pt, nil
}

// stop ends the trace and writes it to path.
func (pt *pageTrace) stop(ctx context.Context, path string) error {
	if _, err := chromedp.CallBrowser(ctx, tracing.End, cdp.Empty{}); err != nil {
		return fmt.Errorf("bench web: end tracing: %w", err)
	}
	select {
	case <-pt.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench web: %w", err)
	}
	w := bufio.NewWriter(f)
	pt.mu.Lock()
	_, _ = io.WriteString(w, `{"traceEvents":[`)
	for i, e := range pt.events {
		if i > 0 {
			_ = w.WriteByte(',')
		}
		_, _ = w.Write(e)
	}
	pt.mu.Unlock()
	_, _ = io.WriteString(w, "]}\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("bench web: %w", err)
	}
	return f.Close()
}

// traceEvent is the part of a Trace Event Format event the summary reads.
type traceEvent struct {
	Name string          `json:"name"`
	Ph   string          `json:"ph"`
	Ts   float64         `json:"ts"`   // µs
	Dur  float64         `json:"dur"`  // µs
	TDur float64         `json:"tdur"` // µs of the thread's CPU
	Pid  int             `json:"pid"`
	Tid  int             `json:"tid"`
	Args json.RawMessage `json:"args"`
}

// LongTasks summarises a trace's long tasks on the page's main thread
// (CrRendererMain): tasks over limitMs and where their time went, by
// event name, counting each event's own time (without the events nested
// in it); and the main thread's CPU time, which on a loaded machine is
// far below its wall time (a task waits for a core inside it).
type LongTasks struct {
	Tasks   int     // main-thread tasks over the limit
	TotalMs float64 // their summed duration
	// BusyMs is the main thread's time in any task, SpanMs the trace's
	// length.
	BusyMs, SpanMs float64
	MaxMs          float64
	// Self is the time spent in each kind of event inside them, ms,
	// largest first.
	Self []NamedMs
	// CPUMs is the main thread's CPU time in every task (the events'
	// tdur), ms; SelfCPU the CPU time of each kind of event in every
	// task, own time as Self, largest first.
	CPUMs   float64
	SelfCPU []NamedMs
}

// NamedMs is a time by name.
type NamedMs struct {
	Name string
	Ms   float64
}

// summarizeTrace reads the events written by pageTrace.stop.
func summarizeTrace(events [][]byte, limitMs float64) LongTasks {
	var evs []traceEvent
	main := map[[2]int]bool{}
	for _, raw := range events {
		var e traceEvent
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		if e.Ph == "M" && e.Name == "thread_name" {
			var a struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(e.Args, &a) == nil && a.Name == "CrRendererMain" {
				main[[2]int{e.Pid, e.Tid}] = true
			}
			continue
		}
		if e.Ph == "X" {
			evs = append(evs, e)
		}
	}
	var out LongTasks
	self, selfCPU := map[string]float64{}, map[string]float64{}
	byThread := map[[2]int][]traceEvent{}
	for _, e := range evs {
		k := [2]int{e.Pid, e.Tid}
		if main[k] {
			byThread[k] = append(byThread[k], e)
		}
	}
	for _, list := range byThread {
		// Parents before children: by start, the longer first.
		slices.SortFunc(list, func(a, b traceEvent) int {
			if c := cmp.Compare(a.Ts, b.Ts); c != 0 {
				return c
			}
			return cmp.Compare(b.Dur, a.Dur)
		})
		var stack []int // indexes into list
		own, ownCPU := make([]float64, len(list)), make([]float64, len(list))
		inLong := make([]bool, len(list))
		for i, e := range list {
			for len(stack) > 0 && list[stack[len(stack)-1]].Ts+list[stack[len(stack)-1]].Dur <= e.Ts {
				stack = stack[:len(stack)-1]
			}
			own[i], ownCPU[i] = e.Dur, e.TDur
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				own[p] -= e.Dur
				ownCPU[p] -= e.TDur
				inLong[i] = inLong[p]
			} else if out.BusyMs, out.CPUMs = out.BusyMs+e.Dur/1000, out.CPUMs+e.TDur/1000; e.Dur > limitMs*1000 {
				inLong[i] = true
				out.Tasks++
				out.TotalMs += e.Dur / 1000
				out.MaxMs = max(out.MaxMs, e.Dur/1000)
			}
			stack = append(stack, i)
		}
		if len(list) > 0 {
			end := 0.0
			for _, e := range list {
				end = max(end, e.Ts+e.Dur)
			}
			out.SpanMs = max(out.SpanMs, (end-list[0].Ts)/1000)
		}
		for i, e := range list {
			if inLong[i] {
				self[e.Name] += max(own[i], 0) / 1000
			}
			selfCPU[e.Name] += max(ownCPU[i], 0) / 1000
		}
	}
	out.Self, out.SelfCPU = byMs(self), byMs(selfCPU)
	return out
}

// byMs lists m's times, largest first (then by name), without zeros.
func byMs(m map[string]float64) []NamedMs {
	var l []NamedMs
	for n, ms := range m {
		if ms > 0 {
			l = append(l, NamedMs{n, ms})
		}
	}
	slices.SortFunc(l, func(a, b NamedMs) int {
		if c := cmp.Compare(b.Ms, a.Ms); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return l
}

// WriteLongTasks prints a trace summary: the top n kinds of event.
func WriteLongTasks(w io.Writer, lt LongTasks, n int) {
	fmt.Fprintf(w, "page main thread (trace): busy %.0f of %.0f ms; %d tasks over 50 ms, %.0f ms in all, longest %.0f ms; inside them:\n",
		lt.BusyMs, lt.SpanMs, lt.Tasks, lt.TotalMs, lt.MaxMs)
	for _, s := range lt.Self[:min(n, len(lt.Self))] {
		fmt.Fprintf(w, "  %-40s %8.1f ms\n", s.Name, s.Ms)
	}
	fmt.Fprintf(w, "page main thread CPU: %.0f ms in %.0f ms (%.1f%% of a core); in every task, by event:\n",
		lt.CPUMs, lt.SpanMs, 100*lt.CPUMs/max(lt.SpanMs, 1))
	for _, s := range lt.SelfCPU[:min(n, len(lt.SelfCPU))] {
		fmt.Fprintf(w, "  %-40s %8.1f ms\n", s.Name, s.Ms)
	}
}

//go:build js && wasm

package main

import (
	"errors"
	"runtime/debug"
	"sync"
	"syscall/js"
	"time"

	"github.com/lora-playground/lora-playground/core/train"
	"github.com/lora-playground/lora-playground/wasm/protocol"
	"github.com/lora-playground/lora-playground/wasm/protocol/jswire"
)

// The worker's JS side (assets/js/worker.js) provides, on the worker's
// global object:
//
//	loraTrainerRegister(handler)   hands Go's message handler to worker.js,
//	                               which replays messages queued before it
//	loraFetch(path, callback)      fetches a site-relative path; calls back
//	                               (error string or null, Uint8Array)
//	loraSpawnShard(callback)       starts a shard worker (this same worker
//	                               script) and returns it; its messages come
//	                               to callback, errors as {error: string}
//	loraYield(callback)            calls back from a fresh macrotask
//	                               (MessageChannel), letting queued messages
//	                               run first; setTimeout(0) would be clamped
//	                               to 4 ms once nested
//	loraParentLane                 in a shard worker of a cross-origin
//	                               isolated page: the endpoint of its
//	                               shared-memory lanes to the training
//	                               worker (assets/js/lane.js); undefined
//	                               elsewhere
//
// and Go posts every message with the global postMessage, or, in a shard
// with a lane, through loraParentLane.

// inbox is an unbounded queue of request envelopes. The JS handler must not
// block, so it appends and signals; the main loop drains it.
type inbox struct {
	mu     sync.Mutex
	items  []item
	notify chan struct{}
}

type item struct{ json, payload []byte }

func (q *inbox) push(it item) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// wake makes the main loop look again without queueing anything.
func (q *inbox) wake() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *inbox) pop() (item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return item{}, false
	}
	it := q.items[0]
	q.items = q.items[1:]
	return it, true
}

var global = js.Global()

// post sends messages to the UI, each payload transferred; in a shard
// worker, to the training worker that started it, through the shared-memory
// lane when there is one (assets/js/lane.js).
func post(msgs []protocol.Message) {
	lane := global.Get("loraParentLane")
	for _, m := range msgs {
		if m.Frame != nil { // to the primary, from a shard (shards.go)
			buf := jswire.Frame(m.Frame) // copied, not transferred (jswire.Frame)
			if lane.Truthy() {
				lane.Call("sendFrame", buf)
			} else {
				global.Call("postMessage", buf)
			}
			continue
		}
		j, p, err := m.Encode()
		if err != nil {
			j, p, _ = protocol.Message{Re: m.Re, Type: protocol.TypeError, Message: "encoding a reply: " + err.Error()}.Encode()
		}
		env, transfer := jswire.Envelope(j, p)
		if lane.Truthy() {
			lane.Call("post", env, transfer)
		} else {
			global.Call("postMessage", env, transfer)
		}
	}
}

// jsFetch fetches path through worker.js and waits for the bytes. Waiting
// blocks only this goroutine: the JS event loop (and the message handler)
// keep running.
func jsFetch(path string) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	var cb js.Func
	cb = js.FuncOf(func(_ js.Value, args []js.Value) any {
		defer cb.Release()
		if e := args[0]; !e.IsNull() && !e.IsUndefined() {
			done <- result{err: errors.New(e.String())}
			return nil
		}
		u8 := args[1]
		b := make([]byte, u8.Get("byteLength").Int())
		js.CopyBytesToGo(b, u8)
		done <- result{b: b}
		return nil
	})
	global.Call("loraFetch", path, cb)
	r := <-done
	return r.b, r.err
}

func main() {
	// Collect when the heap has grown by a quarter, not by all of it (the
	// default 100%): wasm linear memory never shrinks, so every garbage
	// peak (ΔW snapshots, messages, loading a model) stays in the tab's
	// memory for good. Our heap is mostly pointer-free float32 slices,
	// which the collector does not scan, so collecting more often costs
	// nothing measurable: under node, tiny at T=64, batch 8, 60 steps, the
	// worker's peak went 25 → 21 MiB for LoRA r=8 on q,v and 54 → 34 MiB
	// for full fine-tuning at the same ms per step.
	debug.SetGCPercent(25)
	q := &inbox{notify: make(chan struct{}, 1)}
	handler := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 || args[0].IsUndefined() { // a shard's lane has something
			q.wake()
			return nil
		}
		j, p := jswire.Open(args[0])
		q.push(item{j, p})
		return nil
	})
	wake := make(chan struct{}, 1)
	yieldCB := js.FuncOf(func(js.Value, []js.Value) any {
		select {
		case wake <- struct{}{}:
		default:
		}
		return nil
	})
	yield := func() {
		global.Call("loraYield", yieldCB)
		<-wake
	}

	// ?cut=even on the worker URL (assets/js/worker.js sets loraEvenCuts)
	// cuts every data-parallel step evenly instead of by the workers'
	// measured speed: the workers benchmark compares the two.
	if global.Get("loraEvenCuts").Truthy() {
		train.EvenCuts = true
	}
	s := NewSession(FetchFunc(jsFetch))
	s.Spawner = spawnJSShard // shard workers: nested Web Workers (shards_js.go)
	global.Call("loraTrainerRegister", handler)
	post([]protocol.Message{{Type: protocol.TypeReady}})

	handle := func(it item) {
		if it.json == nil && protocol.IsShardFrame(it.payload) { // a job from the primary
			post(s.HandleFrame(it.payload))
			return
		}
		req, err := protocol.DecodeRequest(it.json, it.payload)
		if err != nil {
			post([]protocol.Message{{Re: req.ID, Type: protocol.TypeError, Message: err.Error()}})
			return
		}
		post(s.Handle(req))
	}

	// A shard worker with a lane (assets/js/lane.js) gets its jobs there.
	// While jobs keep coming it waits for the next in Atomics.wait, which
	// wakes within microseconds of the primary's write, in slices of
	// laneSlice with the event loop run between them; after a second
	// without jobs it parks and waits in the event loop (the primary then
	// rings a doorbell).
	const laneSlice = 100 // ms
	var lastJob time.Time
	for {
		// Answer everything that is waiting, then do one slice of
		// background work and let the event loop deliver new messages.
		if it, ok := q.pop(); ok {
			handle(it)
			continue
		}
		lane := global.Get("loraParentLane")
		if lane.Truthy() {
			wait := 0
			if time.Since(lastJob) < time.Second {
				wait = laneSlice
			}
			if s.Busy() {
				wait = 0 // background work first (a shard has none today)
			}
			v := lane.Call("recv", wait)
			switch {
			case v.IsNull():
				if wait > 0 {
					yield()
					continue
				}
			case v.Type() == js.TypeString: // "wait": posted, not yet delivered
				if !s.Busy() {
					<-q.notify
					continue
				}
			default:
				j, p := jswire.Open(v)
				handle(item{j, p})
				if j == nil { // a job: the next one follows within a step
					lastJob = time.Now()
				}
				continue
			}
		}
		if s.Busy() {
			post(s.Tick())
			yield()
			continue
		}
		if lane.Truthy() {
			if !lane.Call("park").Bool() {
				continue
			}
			<-q.notify
			lane.Call("unpark")
			continue
		}
		<-q.notify
	}
}

//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"sync"
	"syscall/js"
	"time"

	"github.com/lora-playground/lora-playground/wasm/protocol"
	"github.com/lora-playground/lora-playground/wasm/protocol/jswire"
)

// jsShard is a shard worker started by worker.js's loraSpawnShard: a nested
// Web Worker running this program. Its messages arrive on a JS callback,
// which must not block, so they are queued; Receive waits on the queue with
// the goroutine blocked, which lets the JS event loop run (and deliver the
// reply).
type jsShard struct {
	w    js.Value
	lane js.Value // w.loraLane: shared-memory lanes (assets/js/lane.js), or undefined
	cb   js.Func
	wake js.Func // setTimeout callback: queues a timeout item
	turn js.Func // loraYield callback: queues a wake item

	mu     sync.Mutex
	items  []shardItem
	notify chan struct{}
	closed bool
}

type shardItem struct {
	json, payload []byte
	err           error
	timeout       bool // Receive's timer fired
	wake          bool // the lane has something
}

// spawnJSShard starts a shard worker.
func spawnJSShard() (conn ShardConn, err error) {
	if global.Get("loraSpawnShard").Type() != js.TypeFunction {
		return nil, errors.New("this page's worker.js cannot start workers")
	}
	c := &jsShard{notify: make(chan struct{}, 1)}
	c.cb = js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 || args[0].IsUndefined() {
			c.push(shardItem{wake: true})
			return nil
		}
		env := args[0]
		if e := env.Get("error"); e.Type() == js.TypeString {
			c.push(shardItem{err: errors.New(e.String())})
			return nil
		}
		j, p := jswire.Open(env)
		c.push(shardItem{json: j, payload: p})
		return nil
	})
	c.wake = js.FuncOf(func(js.Value, []js.Value) any {
		c.push(shardItem{timeout: true})
		return nil
	})
	c.turn = js.FuncOf(func(js.Value, []js.Value) any {
		c.push(shardItem{wake: true})
		return nil
	})
	defer func() {
		if p := recover(); p != nil { // new Worker threw (no nested workers here)
			c.cb.Release()
			c.wake.Release()
			c.turn.Release()
			conn, err = nil, fmt.Errorf("could not start a worker: %v", p)
		}
	}()
	c.w = global.Call("loraSpawnShard", c.cb)
	c.lane = c.w.Get("loraLane")
	return c, nil
}

func (c *jsShard) push(it shardItem) {
	c.mu.Lock()
	c.items = append(c.items, it)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *jsShard) pop() (shardItem, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) == 0 {
		return shardItem{}, false
	}
	it := c.items[0]
	c.items = c.items[1:]
	return it, true
}

// Send posts req to the shard, its payload transferred.
func (c *jsShard) Send(req protocol.Request) (err error) {
	if c.closed {
		return errors.New("the worker was closed")
	}
	j, p, err := req.Encode()
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("posting to the worker: %v", r)
		}
	}()
	env, transfer := jswire.Envelope(j, p)
	if c.lane.Truthy() {
		c.lane.Call("post", env, transfer)
	} else {
		c.w.Call("postMessage", env, transfer)
	}
	return nil
}

// SendFrame posts a shard frame, as a bare ArrayBuffer.
func (c *jsShard) SendFrame(frame []byte) (err error) {
	if c.closed {
		return errors.New("the worker was closed")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("posting to the worker: %v", r)
		}
	}()
	buf := jswire.Frame(frame) // copied, not transferred (jswire.Frame)
	if c.lane.Truthy() {
		c.lane.Call("sendFrame", buf)
	} else {
		c.w.Call("postMessage", buf)
	}
	return nil
}

// Receive returns the shard's next message, waiting up to timeout. The
// timeout is a JS setTimeout that wakes the same queue (a Go timer and a
// select would add ~20 KB to the binary).
//
// With a lane, the messages come from lane.recv, in the order the shard
// sent them; the queue then holds only wake-ups and what the worker itself
// reports (it failed to start or its program stopped). Waiting is then
// Atomics.wait, in slices of laneSlice, with one turn of the event loop
// between them (loraYield: a setTimeout(0) set from a timer callback is
// clamped to 4 ms once nested) so that such an error can arrive.
func (c *jsShard) Receive(timeout time.Duration) (protocol.Message, bool, error) {
	const laneSlice = 50 * time.Millisecond
	armed := false
	var timer js.Value
	defer func() {
		if armed {
			global.Call("clearTimeout", timer)
		}
	}()
	start := time.Now()
	for {
		if it, ok := c.pop(); ok {
			if it.timeout {
				if armed {
					if c.lane.Truthy() && time.Since(start) < timeout {
						armed = false // "wait" below armed it; time is left
						continue
					}
					armed = false
					return protocol.Message{}, false, nil
				}
				continue // an earlier call's timer
			}
			if it.wake {
				continue
			}
			return decodeShardItem(it)
		}
		if c.lane.Truthy() {
			left := timeout - time.Since(start)
			wait := min(left, laneSlice)
			v := c.lane.Call("recv", max(wait.Milliseconds(), 0))
			switch {
			case v.IsNull():
				if left <= 0 {
					return protocol.Message{}, false, nil
				}
				// Let the event loop run once (an error may be waiting).
				global.Call("loraYield", c.turn)
				<-c.notify
				continue
			case v.Type() == js.TypeString: // "wait": posted, not yet delivered
				if left <= 0 {
					return protocol.Message{}, false, nil
				}
				if !armed {
					armed = true
					timer = global.Call("setTimeout", c.wake, left.Milliseconds()+1)
				}
				<-c.notify // its arrival calls cb, which wakes this
				continue
			default:
				j, p := jswire.Open(v)
				return decodeShardItem(shardItem{json: j, payload: p})
			}
		}
		if timeout <= 0 {
			return protocol.Message{}, false, nil
		}
		if !armed {
			armed = true
			timer = global.Call("setTimeout", c.wake, timeout.Milliseconds())
		}
		<-c.notify
	}
}

func decodeShardItem(it shardItem) (protocol.Message, bool, error) {
	if it.err != nil {
		return protocol.Message{}, false, it.err
	}
	if it.json == nil { // a shard frame (jswire.Open)
		return protocol.Message{Frame: it.payload}, true, nil
	}
	m, err := protocol.DecodeMessage(it.json, it.payload)
	return m, err == nil, err
}

// SharedMemory reports whether the shard's frames go through shared-memory
// lanes (a cross-origin isolated page) rather than postMessage: false
// without lanes, and once a frame too large for any lane (lane.js,
// MAX_CAP) went by postMessage.
func (c *jsShard) SharedMemory() bool {
	return c.lane.Truthy() && c.lane.Get("oversize").Int() == 0
}

// Close terminates the worker.
func (c *jsShard) Close() {
	if c.closed {
		return
	}
	c.closed = true
	c.w.Call("terminate")
	c.cb.Release()
	c.wake.Release()
	c.turn.Release()
}

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
	cb   js.Func
	wake js.Func // setTimeout callback: queues a timeout item

	mu     sync.Mutex
	items  []shardItem
	notify chan struct{}
	closed bool
}

type shardItem struct {
	json, payload []byte
	err           error
	timeout       bool // Receive's timer fired
}

// spawnJSShard starts a shard worker.
func spawnJSShard() (conn ShardConn, err error) {
	if global.Get("loraSpawnShard").Type() != js.TypeFunction {
		return nil, errors.New("this page's worker.js cannot start workers")
	}
	c := &jsShard{notify: make(chan struct{}, 1)}
	c.cb = js.FuncOf(func(_ js.Value, args []js.Value) any {
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
	defer func() {
		if p := recover(); p != nil { // new Worker threw (no nested workers here)
			c.cb.Release()
			c.wake.Release()
			conn, err = nil, fmt.Errorf("could not start a worker: %v", p)
		}
	}()
	c.w = global.Call("loraSpawnShard", c.cb)
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
	c.w.Call("postMessage", env, transfer)
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
	c.w.Call("postMessage", jswire.Frame(frame)) // copied, not transferred (jswire.Frame)
	return nil
}

// Receive returns the shard's next message, waiting up to timeout. The
// timeout is a JS setTimeout that wakes the same queue (a Go timer and a
// select would add ~20 KB to the binary).
func (c *jsShard) Receive(timeout time.Duration) (protocol.Message, bool, error) {
	armed := false
	var timer js.Value
	defer func() {
		if armed {
			global.Call("clearTimeout", timer)
		}
	}()
	for {
		if it, ok := c.pop(); ok {
			if it.timeout {
				if armed {
					return protocol.Message{}, false, nil
				}
				continue // an earlier call's timer
			}
			if it.err != nil {
				return protocol.Message{}, false, it.err
			}
			if it.json == nil { // a shard frame (jswire.Open)
				return protocol.Message{Frame: it.payload}, true, nil
			}
			m, err := protocol.DecodeMessage(it.json, it.payload)
			return m, err == nil, err
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

// Close terminates the worker.
func (c *jsShard) Close() {
	if c.closed {
		return
	}
	c.closed = true
	c.w.Call("terminate")
	c.cb.Release()
	c.wake.Release()
}

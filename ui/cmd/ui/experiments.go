//go:build js && wasm

package main

import (
	"log"
	"syscall/js"

	"github.com/lora-playground/lora-playground/ui/app"
	"github.com/lora-playground/lora-playground/wasm/protocol"
	"github.com/lora-playground/lora-playground/wasm/protocol/jswire"
	"github.com/vugu/vugu"
)

// experimentWorker connects the experiments panel to a trainer worker of
// its own: a second instance of assets/js/worker.js (the same trainer.wasm),
// started on the first experiment, so an experiment never touches the
// learner's run in the main worker. Cancel is a protocol request; the worker
// stops after its current slice (~50 ms) and keeps the finished runs.
func experimentWorker(a *app.App, ee vugu.EventEnv) {
	var worker js.Value
	var client *app.ExperimentClient
	start := func() {
		worker = js.Global().Get("Worker").New("assets/js/worker.js")
		inbox := make(chan protocol.Message, 256)
		worker.Set("onmessage", js.FuncOf(func(_ js.Value, args []js.Value) any {
			m, err := protocol.DecodeMessage(jswire.Open(args[0].Get("data")))
			if err != nil {
				m = protocol.Message{V: protocol.Version, Type: protocol.TypeError, Message: err.Error()}
			}
			inbox <- m // buffered; the callback must not block on the lock
			return nil
		}))
		worker.Set("onerror", js.FuncOf(func(_ js.Value, args []js.Value) any {
			msg := "could not start assets/js/worker.js"
			if m := args[0].Get("message"); m.Type() == js.TypeString {
				msg = m.String()
			}
			inbox <- protocol.Message{V: protocol.Version, Type: protocol.TypeError, Message: "the experiment worker failed: " + msg}
			return nil
		}))
		go func() {
			for m := range inbox {
				ee.Lock()
				client.Handle(m)
				for more := true; more; {
					select {
					case m := <-inbox:
						client.Handle(m)
					default:
						more = false
					}
				}
				ee.UnlockRender()
			}
		}()
	}
	client = app.NewExperimentClient(a, func(r protocol.Request) {
		if worker.IsUndefined() {
			start()
		}
		j, p, err := r.Encode()
		if err != nil {
			log.Printf("ui: encoding %s: %v", r.Type, err)
			return
		}
		env, transfer := jswire.Envelope(j, p)
		worker.Call("postMessage", env, transfer)
	})
}

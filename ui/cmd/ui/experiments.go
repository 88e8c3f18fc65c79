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
		worker = spawnWorker(256, func(in <-chan protocol.Message) { deliver(in, client.Handle, ee, nil) }, func(msg string) {
			go func() {
				ee.Lock()
				defer ee.UnlockRender()
				client.Handle(protocol.Message{V: protocol.Version, Type: protocol.TypeError, Message: "the experiment worker failed: " + msg})
			}()
		})
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

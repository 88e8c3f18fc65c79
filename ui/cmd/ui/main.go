//go:build js && wasm

// Command ui is the playground page's own wasm binary: it renders the vugu
// components of ui/app into #app and connects them to the training worker
// (assets/js/worker.js) and to the browser (URL hash, IndexedDB, downloads,
// keyboard). It never trains.
package main

import (
	"encoding/json"
	"log"
	"strings"
	"syscall/js"
	"time"

	"github.com/lora-playground/lora-playground/ui/app"
	"github.com/lora-playground/lora-playground/ui/state"
	"github.com/lora-playground/lora-playground/wasm/protocol"
	"github.com/lora-playground/lora-playground/wasm/protocol/jswire"
	"github.com/vugu/vugu"
	"github.com/vugu/vugu/domrender"
	vjs "github.com/vugu/vugu/js"
)

func main() {
	renderer, err := domrender.New("#app")
	if err != nil {
		log.Fatal(err)
	}
	defer renderer.Release()
	ee := renderer.EventEnv()
	glue := js.Global().Get("lpGlue")

	s, problems := state.Parse(js.Global().Get("location").Get("hash").String())
	h := &host{ee: ee, glue: glue}
	a := app.New(s, nil, h)
	a.Problems = problems
	a.Net = h

	// The worker starts after the first render (startWorker): compiling
	// trainer.wasm competes for the CPU with this page's own start, and the
	// page should be on screen first. Requests made before then wait here.
	var worker js.Value
	var early []protocol.Request
	send := func(r protocol.Request) {
		j, p, err := r.Encode()
		if err != nil {
			log.Printf("ui: encoding %s: %v", r.Type, err)
			return
		}
		env, transfer := jswire.Envelope(j, p)
		worker.Call("postMessage", env, transfer)
	}
	client := app.NewClient(a, func(r protocol.Request) {
		if worker.IsUndefined() {
			early = append(early, r)
			return
		}
		send(r)
	})
	a.T = client
	a.Analyzer = client
	experimentWorker(a, ee) // the experiments panel's own worker (experiments.go)
	// Train on as many workers as the device has cores (or as the link
	// says); the worker starts the extra ones (ui/app/workers.go).
	if n := js.Global().Get("navigator").Get("hardwareConcurrency"); n.Type() == js.TypeNumber {
		a.Cores = n.Int()
	}
	a.ApplyWorkers()
	startWorker := func() {
		worker = spawnWorker(1024, func(inbox <-chan protocol.Message) { deliver(inbox, client.Handle, ee, pacer.Gap) }, func(msg string) {
			go func() {
				ee.Lock()
				defer ee.UnlockRender()
				a.OnError("the training worker failed: " + msg)
			}()
		})
		for _, r := range early {
			send(r)
		}
		early = nil
	}

	// Resume the saved session unless the link asks for something else.
	client.Save = func(workerState []byte) {
		glue.Call("save", string(a.SavePage()), bytesToJS(workerState))
	}
	restoreSession(a, client, glue, problems)
	// A link made by Share names an adapter on the edge: fetch and import it.
	if id := app.AdapterFromHash(js.Global().Get("location").Get("hash").String()); id != "" {
		a.LoadShared(id)
	}
	loadCatalogue(a, ee, glue)
	listen(a, ee)

	root := &app.Root{App: a}
	buildEnv, err := vugu.NewBuildEnv(renderer.EventEnv())
	if err != nil {
		log.Fatal(err)
	}
	glue.Call("ready")
	for ok, first := true, true; ok; ok = renderer.EventWait() {
		start := time.Now()
		if err := renderer.Render(buildEnv.RunBuild(root)); err != nil {
			log.Printf("ui: render: %v", err)
		}
		pacer.Rendered(time.Since(start))
		if first {
			first = false
			ee.Lock()
			startWorker()
			ee.UnlockOnly()
		}
	}
}

// pacer spaces the renders the training worker's messages cause. The
// worker reports every ~50 ms chunk and pushes snapshots; rendering the
// whole page for each would keep the main thread busy, so messages that
// arrive within a gap are applied together under one lock and one render.
// At most 5 renders a second (snapshots come every 300 ms and the loss
// chart redraws at most every 250 ms anyway), and fewer where a render is
// slow, so that they keep to about 5% of the main thread: on a 2-core
// machine training on both cores, the page's time is the workers' (see
// app.FramePacer).
var pacer = &app.FramePacer{Min: 200 * time.Millisecond, Max: time.Second, Share: 0.05}

// deliver applies the worker's messages under the render lock, at most
// once per gap() (nil: as they come). Only the running stream
// (app.Pacing) waits for the gap; anything else,
// such as the reply to a pause, ends the wait, so the readouts settle at
// once when training stops.
func deliver(inbox <-chan protocol.Message, handle func(protocol.Message), ee vugu.EventEnv, gap func() time.Duration) {
	var last time.Time
	var pacing app.Pacing
	var held []protocol.Message // come during the wait: applied with it
	for m := range inbox {
		held = append(held[:0], m)
		if gap != nil && pacing.Paced(m) {
			if wait := gap() - time.Since(last); wait > 0 {
				timer := time.NewTimer(wait)
			waiting:
				for {
					select {
					case m, ok := <-inbox:
						if !ok {
							break waiting
						}
						held = append(held, m)
						if !pacing.Paced(m) {
							break waiting
						}
					case <-timer.C:
						break waiting
					}
				}
				timer.Stop()
			}
		}
		ee.Lock()
		for _, m := range held {
			handle(m)
		}
		for more := true; more; {
			select {
			case m, ok := <-inbox:
				if !ok {
					more = false
					break
				}
				pacing.Paced(m) // it follows the stream
				handle(m)
			default:
				more = false
			}
		}
		ee.UnlockRender()
		last = time.Now()
	}
}

// spawnWorker starts a trainer worker (assets/js/worker.js). Its messages
// are decoded into a buffered inbox (the JS callback must not block on the
// render lock), which consume drains on a goroutine of its own; onError
// gets the reason when the worker fails (a script that fails to load gives
// an event without a message).
func spawnWorker(capacity int, consume func(<-chan protocol.Message), onError func(msg string)) js.Value {
	worker := js.Global().Get("Worker").New("assets/js/worker.js")
	inbox := make(chan protocol.Message, capacity)
	worker.Set("onmessage", js.FuncOf(func(_ js.Value, args []js.Value) any {
		m, err := protocol.DecodeMessage(jswire.Open(args[0].Get("data")))
		if err != nil {
			m = protocol.Message{V: protocol.Version, Type: protocol.TypeError, Message: err.Error()}
		}
		inbox <- m
		return nil
	}))
	worker.Set("onerror", js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "could not start assets/js/worker.js"
		if m := args[0].Get("message"); m.Type() == js.TypeString {
			msg = m.String()
		}
		onError(msg)
		return nil
	}))
	go consume(inbox)
	return worker
}

// restoreSession loads the IndexedDB record (blocking main before the first
// render is fine: nothing is on screen yet and the JS event loop runs).
func restoreSession(a *app.App, client *app.Client, glue js.Value, problems []string) {
	rec, err := await(glue.Call("load"))
	if err != nil || rec.IsNull() || rec.IsUndefined() {
		return
	}
	hash := strings.TrimPrefix(js.Global().Get("location").Get("hash").String(), "#")
	page := rec.Get("page").String()
	linked := a.State
	if err := a.RestorePage([]byte(page)); err != nil {
		a.Problems = append(a.Problems, err.Error())
		return
	}
	// A shared link wins over the saved session's settings, but the saved
	// runs stay on the chart and in the table.
	if hash != "" && !linked.Equal(a.State) {
		a.State = linked
	}
	a.Problems = problems
	if w := rec.Get("worker"); a.Current() != nil && w.Truthy() {
		b := make([]byte, w.Get("byteLength").Int())
		js.CopyBytesToGo(b, js.Global().Get("Uint8Array").New(w))
		client.Restore(b)
		a.Status = "restoring your run…"
	}
}

// loadCatalogue fetches the list of models and tasks and their shapes.
func loadCatalogue(a *app.App, ee vugu.EventEnv, glue js.Value) {
	go func() {
		v, err := await(glue.Call("fetchJSON", "manifest.json"))
		if err != nil {
			ee.Lock()
			a.Error = "could not load the list of models: " + err.Error()
			ee.UnlockRender()
			return
		}
		var man struct {
			Models  []string `json:"models"`
			Tasks   []string `json:"tasks"`
			Results bool     `json:"results"` // results.json ships
		}
		if err := json.Unmarshal([]byte(v.String()), &man); err != nil {
			ee.Lock()
			a.Error = "manifest.json: " + err.Error()
			ee.UnlockRender()
			return
		}
		ee.Lock()
		a.Models = man.Models
		ee.UnlockRender()
		for _, m := range man.Models {
			v, err := await(glue.Call("fetchJSON", "models/"+m+"/config.json"))
			if err != nil {
				continue
			}
			var cfg struct {
				VocabSize int `json:"vocab_size"`
				NCtx      int `json:"n_ctx"`
				NEmbd     int `json:"n_embd"`
				NHead     int `json:"n_head"`
				NLayer    int `json:"n_layer"`
			}
			if json.Unmarshal([]byte(v.String()), &cfg) != nil {
				continue
			}
			ee.Lock()
			a.SetArch(m, cfg.VocabSize, cfg.NCtx, cfg.NEmbd, cfg.NHead, cfg.NLayer)
			ee.UnlockRender()
		}
		var tasks []app.TaskInfo
		for _, t := range man.Tasks {
			v, err := await(glue.Call("fetchJSON", "datasets/"+t+"/task.json"))
			if err != nil {
				continue
			}
			var ti app.TaskInfo
			if json.Unmarshal([]byte(v.String()), &ti) == nil {
				tasks = append(tasks, ti)
			}
		}
		ee.Lock()
		a.Tasks = tasks
		ee.UnlockRender()
		// The reference results are optional: without them the comparison
		// panel shows only the learner's own runs.
		if !man.Results {
			return
		}
		v, err = await(glue.Call("fetchJSON", "results.json"))
		if err != nil {
			log.Printf("ui: reference results: %v", err)
			return
		}
		ref, err := app.ParseReferences([]byte(v.String()))
		if err != nil {
			log.Printf("ui: %v", err)
			return
		}
		ee.Lock()
		a.References = ref
		ee.UnlockRender()
	}()
}

// listen wires the keyboard shortcuts and hand-edited links.
func listen(a *app.App, ee vugu.EventEnv) {
	js.Global().Get("document").Call("addEventListener", "keydown", js.FuncOf(func(_ js.Value, args []js.Value) any {
		e := args[0]
		if e.Get("ctrlKey").Bool() || e.Get("metaKey").Bool() || e.Get("altKey").Bool() {
			return nil
		}
		// Typing in a field, or pressing a focused button, is not a shortcut.
		switch strings.ToLower(e.Get("target").Get("tagName").String()) {
		case "input", "textarea", "select", "button", "summary":
			return nil
		}
		var act func()
		switch e.Get("key").String() {
		case " ":
			act = a.TogglePlay
		case "s":
			act = a.StepOnce
		case "r":
			act = a.Reset
		default:
			return nil
		}
		e.Call("preventDefault")
		go func() {
			ee.Lock()
			defer ee.UnlockRender()
			act()
		}()
		return nil
	}))
	js.Global().Call("addEventListener", "hashchange", js.FuncOf(func(js.Value, []js.Value) any {
		hash := js.Global().Get("location").Get("hash").String()
		go func() {
			ee.Lock()
			defer ee.UnlockRender()
			s, problems := state.Parse(hash)
			if !s.Equal(a.State) {
				a.State, a.Problems = s, problems
				a.Changed()
			}
		}()
		return nil
	}))
}

// host is the browser side of app.Host.
type host struct {
	ee   vugu.EventEnv
	glue js.Value
}

func (h *host) Download(name, mime string, data []byte) {
	h.glue.Call("download", name, mime, bytesToJS(data))
}

func (h *host) DownloadPNGFromSVG(name, svg string, w, ht int) {
	h.glue.Call("downloadPNG", name, svg, w, ht)
}

// SetHash replaces the URL without adding history entries or firing
// hashchange, so moving a slider does not flood the back button.
func (h *host) SetHash(hash string) {
	url := js.Global().Get("location").Get("pathname").String() + js.Global().Get("location").Get("search").String()
	if hash != "" {
		url += "#" + hash
	}
	js.Global().Get("history").Call("replaceState", js.Null(), "", url)
}

func (h *host) ReadFile(target vjs.Value, done func(name string, data []byte)) {
	files := js.Value(target).Get("files")
	if !files.Truthy() || files.Length() == 0 {
		return
	}
	f := files.Index(0)
	name := f.Get("name").String()
	go func() {
		buf, err := await(f.Call("arrayBuffer"))
		h.ee.Lock()
		defer h.ee.UnlockRender()
		if err != nil {
			return
		}
		b := make([]byte, buf.Get("byteLength").Int())
		js.CopyBytesToGo(b, js.Global().Get("Uint8Array").New(buf))
		done(name, b)
	}()
}

// Fetch implements app.Net with the page's fetch (lpGlue.fetchBytes).
func (h *host) Fetch(method, url, contentType string, body []byte, done func(status int, body []byte, err error)) {
	var b any = js.Null()
	if body != nil {
		b = bytesToJS(body)
	}
	p := h.glue.Call("fetchBytes", method, url, contentType, b)
	go func() {
		res, err := await(p)
		status, data := 0, []byte(nil)
		if err == nil {
			status = res.Get("status").Int()
			u8 := res.Get("body")
			data = make([]byte, u8.Get("byteLength").Int())
			js.CopyBytesToGo(data, u8)
		}
		h.ee.Lock()
		defer h.ee.UnlockRender()
		done(status, data, err)
	}()
}

// PageURL is the page's address without its fragment.
func (h *host) PageURL() string {
	l := js.Global().Get("location")
	return l.Get("origin").String() + l.Get("pathname").String() + l.Get("search").String()
}

func bytesToJS(b []byte) js.Value {
	u8 := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u8, b)
	return u8
}

// await blocks the calling goroutine (never a JS callback) until p settles.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var then, catch js.Func
	then = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	catch = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: js.Error{Value: args[0]}}
		return nil
	})
	p.Call("then", then, catch)
	r := <-ch
	then.Release()
	catch.Release()
	return r.v, r.err
}

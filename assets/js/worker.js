// The training Web Worker's bootstrap. It starts trainer.wasm (wasm/trainer,
// a Go program) and is the only JavaScript on the worker side; all training,
// and the message protocol (wasm/protocol), is Go.
//
// The site root is two folders up from this file (assets/js/worker.js), or
// the worker URL's ?root= parameter. wasm_exec.js and trainer.wasm sit at
// the root, as do models/ and datasets/, which Go fetches through loraFetch.
//
// Messages are envelopes {json, buf}: JSON text and an optional transferred
// ArrayBuffer (see wasm/protocol). Messages that arrive before Go has
// registered its handler are queued, in order, never dropped.
'use strict';

const ROOT = new URL(new URLSearchParams(self.location.search).get('root') || '../../', self.location.href).href;

importScripts(ROOT + 'wasm_exec.js');

(function () {
  const queue = [];
  let handler = null;

  self.onmessage = (e) => {
    if (handler) handler(e.data);
    else queue.push(e.data);
  };

  // Called by Go (main_js.go) once it listens; replays the queue in order.
  self.loraTrainerRegister = (h) => {
    handler = h;
    while (queue.length) h(queue.shift());
  };

  // loraFetch(path, cb): cb(null, Uint8Array) or cb(errorString).
  self.loraFetch = (path, cb) => {
    fetch(new URL(path, ROOT))
      .then((r) => {
        if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
        return r.arrayBuffer();
      })
      .then((b) => cb(null, new Uint8Array(b)), (e) => cb(String((e && e.message) || e)));
  };

  // loraYield(cb) calls cb from a new macrotask, after messages already
  // queued. Yields alternate between a MessageChannel message and
  // setTimeout(0): a timer set from a timer callback is clamped to 4 ms once
  // nested five deep (which would cost ~8% of every 50 ms chunk), but one
  // set from a message task starts at nesting level 0; and a run of
  // MessageChannel messages alone can be drained back to back without
  // letting other messages in (node does that for up to 1000), which the
  // timer turns prevent.
  const channel = new MessageChannel();
  let pending = null, turn = 0;
  channel.port1.onmessage = () => { const cb = pending; pending = null; cb(); };
  self.loraYield = (cb) => {
    if (turn++ % 2 === 0) {
      setTimeout(cb, 0);
    } else {
      pending = cb;
      channel.port2.postMessage(0);
    }
  };

  function fail(what, err) {
    const message = `${what}: ${(err && err.message) || err}`;
    self.postMessage({ json: JSON.stringify({ v: 1, re: 0, type: 'error', message }) });
  }

  async function start() {
    const go = new Go();
    const url = ROOT + 'trainer.wasm';
    let result;
    try {
      result = await WebAssembly.instantiateStreaming(fetch(url), go.importObject);
    } catch (e) {
      // Servers that send trainer.wasm without application/wasm.
      const r = await fetch(url);
      if (!r.ok) throw new Error(`trainer.wasm: HTTP ${r.status}`);
      result = await WebAssembly.instantiate(await r.arrayBuffer(), go.importObject);
    }
    await go.run(result.instance);
    fail('the trainer stopped', 'its Go program exited; reload the page');
  }
  start().catch((e) => fail('could not start the trainer', e));
})();

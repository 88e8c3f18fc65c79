// The training Web Worker's bootstrap. It starts trainer.wasm (wasm/trainer,
// a Go program) and is the only JavaScript on the worker side; all training,
// and the message protocol (wasm/protocol), is Go.
//
// The site root is two folders up from this file (assets/js/worker.js), or
// the worker URL's ?root= parameter. wasm_exec.js and trainer.wasm sit at
// the root, as do models/ and datasets/, which Go fetches through loraFetch.
//
// WebAssembly SIMD128: where the engine supports it (WebAssembly.validate
// on a tiny SIMD module), the worker runs trainer.wasm, built with the simd
// tag, whose matmuls call the kernels of kernels.wasm (core/kernels/simd)
// through the "kernels" import; elsewhere, or with ?simd=0 on the worker
// URL, the pure-Go trainer-nosimd.wasm. A client downloads only one.
//
// Messages are envelopes {json, buf}: JSON text and an optional transferred
// ArrayBuffer (see wasm/protocol). Messages that arrive before Go has
// registered its handler are queued, in order, never dropped. Between the
// training worker and its shard workers, on a cross-origin isolated page,
// frames travel through shared memory instead (lane.js).
'use strict';

const ROOT = new URL(new URLSearchParams(self.location.search).get('root') || '../../', self.location.href).href;

importScripts(ROOT + 'wasm_exec.js', new URL('lane.js', self.location.href).href);

(function () {
  const queue = [];
  let handler = null;

  // deliver hands a message to Go, or queues it until Go listens. Called
  // with no message, it only wakes Go's loop (a lane has something).
  const deliver = (data) => {
    if (handler) handler(data);
    else if (data !== undefined) queue.push(data);
  };

  self.onmessage = (e) => {
    const d = e.data;
    // A shard worker's first message: its lanes to and from the training
    // worker that started it (lane.js); self.loraParentLane is then the
    // endpoint Go's shard side reads and writes.
    if (d && d.loraLanes) {
      self.loraParentLane = new LoraLanes.Endpoint(d.loraLanes.toParent, d.loraLanes.toShard, self, () => deliver(undefined));
      return;
    }
    if (self.loraParentLane && self.loraParentLane.accept(d)) return;
    deliver(d);
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
  // Callbacks waiting for their MessageChannel turn, in order (Go may ask
  // for a second turn before the first has come).
  const channel = new MessageChannel();
  const pending = [];
  let turn = 0;
  channel.port1.onmessage = () => pending.shift()();
  self.loraYield = (cb) => {
    if (turn++ % 2 === 0) {
      setTimeout(cb, 0);
    } else {
      pending.push(cb);
      channel.port2.postMessage(0);
    }
  };

  // loraSpawnShard(cb) starts a shard worker for data-parallel training
  // (wasm/trainer/shards.go): this same script and query (root, simd) in a
  // nested Worker. cb gets its message envelopes, and {error} if it fails;
  // Go posts to it and terminates it through the returned Worker. Where
  // SharedArrayBuffer is available (a cross-origin isolated page) the
  // Worker also gets w.loraLane, the endpoint of two shared-memory lanes
  // (lane.js), whose first message gives the shard the other end; then cb
  // is called with no argument when the lane has something to read.
  // ?lanes=0 on the worker URL keeps to postMessage, and ?cut=even makes
  // the trainer cut every step's rows evenly, not by measured speed (both
  // for the benchmarks).
  self.loraEvenCuts = new URLSearchParams(self.location.search).get('cut') === 'even';
  const lanesOn = LoraLanes.available() && new URLSearchParams(self.location.search).get('lanes') !== '0';
  self.loraSpawnShard = (cb) => {
    // The lanes first: if they cannot be made, no worker is left behind.
    const lanes = lanesOn ? { toShard: LoraLanes.newLaneBuffer(), toParent: LoraLanes.newLaneBuffer() } : null;
    const w = new Worker(self.location.href);
    if (lanes) {
      const { toShard, toParent } = lanes;
      w.postMessage({ loraLanes: lanes });
      w.loraLane = new LoraLanes.Endpoint(toShard, toParent, w, () => cb(undefined));
    }
    w.onmessage = (e) => {
      if (w.loraLane && w.loraLane.accept(e.data)) return;
      cb(e.data);
    };
    w.onerror = (e) => {
      if (e && e.preventDefault) e.preventDefault();
      cb({ error: String((e && e.message) || 'the worker failed to start') });
    };
    w.onmessageerror = () => cb({ error: 'a message from the worker could not be read' });
    return w;
  };

  // A message that cannot be deserialised would otherwise vanish (and a
  // shard or the page would wait for it): say so.
  self.onmessageerror = () => fail('a message to the trainer could not be read', 'it was not delivered');

  function fail(what, err) {
    const message = `${what}: ${(err && err.message) || err}`;
    self.postMessage({ json: JSON.stringify({ v: 1, re: 0, type: 'error', message }) });
  }

  // A module whose one function returns v128.const 0: valid only where
  // the engine has SIMD128.
  const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
    10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]);
  const simd = new URLSearchParams(self.location.search).get('simd') !== '0' && WebAssembly.validate(SIMD_PROBE);
  self.loraSIMD = simd;

  async function compile(name) {
    const url = ROOT + name;
    try {
      return await WebAssembly.compileStreaming(fetch(url));
    } catch (e) {
      // Servers that send .wasm without application/wasm.
      const r = await fetch(url);
      if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
      return WebAssembly.compile(await r.arrayBuffer());
    }
  }

  async function start() {
    const go = new Go();
    const [mod, kmod] = await Promise.all([
      compile(simd ? 'trainer.wasm' : 'trainer-nosimd.wasm'),
      simd ? compile('kernels.wasm') : null,
    ]);
    // The kernels work in the Go instance's memory, which exists only once
    // that instance does; so Go imports trampolines that call through to
    // the kernel instance's exports, filled in before Go runs. Both
    // instances share the one WebAssembly.Memory, growth included.
    const kernels = {};
    if (kmod) {
      go.importObject.kernels = {};
      for (const { name, kind } of WebAssembly.Module.exports(kmod)) {
        if (kind !== 'function') continue;
        go.importObject.kernels[name] = (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) => kernels[name](a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10);
      }
    }
    const instance = await WebAssembly.instantiate(mod, go.importObject);
    if (kmod) Object.assign(kernels, (await WebAssembly.instantiate(kmod, { env: { memory: instance.exports.mem } })).exports);
    await go.run(instance);
    fail('the trainer stopped', 'its Go program exited; reload the page');
  }
  start().catch((e) => fail('could not start the trainer', e));
})();

// Peak wasm memory of the training worker: the real assets/js/worker.js and
// trainer.wasm of a built site in a node:worker_threads thread (the shim of
// node_test.mjs), configured through the message protocol and stepped.
// WebAssembly linear memory never shrinks, so its size after the steps is
// the peak the tab pays for the Go instance.
//
//   ./build.sh build && node wasm/trainer/node_memory.mjs dist/ [method] [steps] [model] [task]
//
// Defaults: lora (r=8 on q_proj, v_proj), 20 steps, tiny on verse at
// T=64, batch 8 — the bench's reference shape on a shipped model. Prints
// one JSON line: linear memory when ready, after configure and after the
// steps (MiB), and ms per step.
import { Worker } from 'node:worker_threads';
import path from 'node:path';

const [distArg, method = 'lora', stepsArg = '20', modelName = 'tiny', task = 'verse'] = process.argv.slice(2);
const dist = path.resolve(distArg || 'dist');
const steps = +stepsArg;
const shim = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const vm = require('node:vm');
const { fileURLToPath } = require('node:url');
const { dist } = workerData;
globalThis.self = globalThis;
self.location = new URL('file://' + dist + '/assets/js/worker.js');
self.importScripts = (...urls) => { for (const u of urls) vm.runInThisContext(fs.readFileSync(fileURLToPath(new URL(u, self.location.href)), 'utf8')); };
const distURL = 'file://' + dist + '/';
self.fetch = async (u) => {
  const rel = new URL(String(u), self.location.href).href.slice(distURL.length);
  let body;
  try { body = fs.readFileSync(dist + '/' + rel); } catch { return new Response('not found', { status: 404 }); }
  return new Response(body, { status: 200, headers: { 'content-type': rel.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream' } });
};
// The first instance with an exported memory is Go's (kernels.wasm imports it).
let mem = null;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async (...a) => {
  const r = await instantiate(...a);
  const i = r.instance || r;
  if (!mem && i.exports && i.exports.mem) mem = i.exports.mem;
  return r;
};
self.postMessage = (msg, transfer) => parentPort.postMessage(msg, transfer || []);
parentPort.on('message', (data) => {
  if (data.memory) return parentPort.postMessage({ memory: mem ? mem.buffer.byteLength : -1 });
  self.onmessage && self.onmessage({ data });
});
vm.runInThisContext(fs.readFileSync(dist + '/assets/js/worker.js', 'utf8'), { filename: 'worker.js' });
`;

const worker = new Worker(shim, { eval: true, workerData: { dist } });
let nextId = 0;
const waiting = new Map();
let onMemory = null;
let onReady;
const ready = new Promise((r) => (onReady = r));
worker.on('message', (env) => {
  if (env.memory !== undefined) return onMemory(env.memory);
  const m = JSON.parse(env.json);
  if (m.type === 'ready') onReady();
  const w = m.re && waiting.get(m.re);
  if (w) {
    waiting.delete(m.re);
    if (m.type === 'error') w.reject(new Error(m.message));
    else w.resolve(m);
  }
});
worker.on('error', (e) => { console.error(e); process.exit(1); });
const send = (type, fields = {}) => {
  const id = ++nextId;
  const p = new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
  worker.postMessage({ json: JSON.stringify({ v: 1, id, type, ...fields }) });
  return p;
};
const memory = () => new Promise((r) => { onMemory = r; worker.postMessage({ memory: true }); });
const mib = (b) => +(b / 1048576).toFixed(2);

try {
  await ready;
  const atReady = await memory();
  const config = { model: modelName, task, method, rank: 8, alpha: 16, rslora: false, dropout: 0,
    targets: ['q_proj', 'v_proj'], lr: 0.002, batch: 8, seed: 1, steps: 1000, seq_len: 64, eval_every: -1 };
  await send('configure', { config });
  const configured = await memory();
  const t0 = performance.now();
  await send('step', { n: steps });
  const msPerStep = (performance.now() - t0) / steps;
  const stepped = await memory();
  console.log(JSON.stringify({ model: modelName, task, method, steps, ready_mib: mib(atReady), configured_mib: mib(configured),
    peak_mib: mib(stepped), ms_per_step: +msPerStep.toFixed(1) }));
} catch (e) {
  console.error('node_memory:', e.message);
  process.exitCode = 1;
} finally {
  await worker.terminate();
}

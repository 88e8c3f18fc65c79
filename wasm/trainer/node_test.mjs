// End-to-end test of the training worker under node: the real
// assets/js/worker.js and trainer.wasm of a built site, run in a
// node:worker_threads thread with a small browser shim (self, importScripts,
// fetch, postMessage), driven through the message protocol as the page
// drives it.
//
//   ./build.sh && node wasm/trainer/node_test.mjs dist/
//
// The base model is a random GPT-2 (2 layers, width 32) written here in
// safetensors, so the test does not depend on the shipped models; the task
// is dist/datasets/reverse (or assets/datasets/reverse). It checks that
// messages sent before Go is ready are queued, that training runs in chunks
// and pause is answered within one chunk, that binary payloads arrive as
// ArrayBuffers and are transferred (the sender's copy is detached), and the
// export → import, merge, sample and save → restore round trips.
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// node node_test.mjs <dist> [--bench <model>]: the bench also trains a
// shipped model from <dist>/models for a few seconds and prints its speed.
const args = process.argv.slice(2);
const benchAt = args.indexOf('--bench');
const benchModel = benchAt >= 0 ? args.splice(benchAt, 2)[1] : '';
const dist = path.resolve(args[0] || 'dist');
for (const f of ['wasm_exec.js', 'trainer.wasm', 'assets/js/worker.js']) {
  if (!existsSync(path.join(dist, f))) {
    console.error(`node_test: ${path.join(dist, f)} is missing; build the site first (./build.sh)`);
    process.exit(2);
  }
}
let datasets = path.join(dist, 'datasets');
if (!existsSync(path.join(datasets, 'reverse', 'task.json'))) datasets = path.resolve(here, '../../assets/datasets');

// ---- a random model, as core/model writes one ----
function randomModel(name, C, L, T) {
  const vocab = ['<unk>', '\n'];
  for (let c = 32; c <= 126; c++) vocab.push(String.fromCharCode(c));
  const V = vocab.length;
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  const normal = (std) => std * Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const tensors = [];
  const add = (n, shape, fill) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = fill();
    tensors.push({ n, shape, data });
  };
  const zero = () => 0, one = () => 1, w = () => normal(0.02);
  add('wte.weight', [V, C], w);
  add('wpe.weight', [T, C], () => normal(0.01));
  const mods = [['attn.q_proj', C, C], ['attn.k_proj', C, C], ['attn.v_proj', C, C], ['attn.o_proj', C, C],
    ['mlp.up_proj', 4 * C, C], ['mlp.down_proj', C, 4 * C]];
  for (let l = 0; l < L; l++) {
    add(`h.${l}.ln_1.weight`, [C], one); add(`h.${l}.ln_1.bias`, [C], zero);
    add(`h.${l}.ln_2.weight`, [C], one); add(`h.${l}.ln_2.bias`, [C], zero);
    for (const [m, out, inp] of mods) {
      add(`h.${l}.${m}.weight`, [out, inp], w);
      add(`h.${l}.${m}.bias`, [out], zero);
    }
  }
  add('ln_f.weight', [C], one); add('ln_f.bias', [C], zero);
  // safetensors: u64 header length, JSON header, then the data.
  const header = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const t of tensors) {
    header[t.n] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let hj = JSON.stringify(header);
  while ((8 + hj.length) % 8) hj += ' ';
  const hb = Buffer.from(hj);
  const out = Buffer.alloc(8 + hb.length + off);
  out.writeBigUInt64LE(BigInt(hb.length), 0);
  hb.copy(out, 8);
  let p = 8 + hb.length;
  for (const t of tensors) { Buffer.from(t.data.buffer).copy(out, p); p += t.data.byteLength; }
  const config = { name, vocab_size: V, n_ctx: T, n_embd: C, n_head: 2, n_layer: L, tokenizer: { type: 'char', vocab } };
  return { 'config.json': Buffer.from(JSON.stringify(config)), 'model.safetensors': out };
}

const models = { jsnano: randomModel('jsnano', 32, 2, 64) };

// ---- the worker thread: a browser-like global, then the real worker.js ----
const shim = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const vm = require('node:vm');
const { fileURLToPath } = require('node:url');
const { dist, datasets, models } = workerData;
globalThis.self = globalThis;
// LORA_WORKER_QUERY='?simd=0' runs the pure-Go trainer-nosimd.wasm.
self.location = new URL('file://' + dist + '/assets/js/worker.js' + (process.env.LORA_WORKER_QUERY || ''));
self.importScripts = (...urls) => { for (const u of urls) vm.runInThisContext(fs.readFileSync(fileURLToPath(new URL(u, self.location.href)), 'utf8')); };
const distURL = 'file://' + dist + '/';
self.fetch = async (u) => {
  const url = new URL(String(u), self.location.href).href;
  if (!url.startsWith(distURL)) return new Response('outside the site', { status: 403 });
  const rel = url.slice(distURL.length);
  let body = null;
  const m = rel.match(/^models\\/([^/]+)\\/(config\\.json|model\\.safetensors)$/);
  if (m && models[m[1]]) body = models[m[1]][m[2]];
  else {
    const file = rel.startsWith('datasets/') ? datasets + '/' + rel.slice(9) : dist + '/' + rel;
    try { body = fs.readFileSync(file); } catch { body = null; }
  }
  if (body === null) return new Response('not found', { status: 404 });
  const type = rel.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream';
  return new Response(body, { status: 200, headers: { 'content-type': type } });
};
self.postMessage = (msg, transfer) => parentPort.postMessage(msg, transfer || []);
parentPort.on('message', (data) => self.onmessage && self.onmessage({ data }));
vm.runInThisContext(fs.readFileSync(dist + '/assets/js/worker.js', 'utf8'), { filename: 'worker.js' });
`;

const worker = new Worker(shim, { eval: true, workerData: { dist, datasets, models } });
const t0 = performance.now();
const deadline = setTimeout(() => { fail('timed out'); }, benchModel ? 60000 : 20000);
let failed = false;
function fail(msg) {
  failed = true;
  console.error('FAIL:', msg);
  if (process.env.NODE_TEST_DEBUG) {
    console.error('events:', JSON.stringify(events.map((e) => [Math.round(e.at - t0), e.m.type, e.m.message || '', e.m.progress ? [e.m.progress.chunk_ms, e.m.progress.points.length] : ''])).slice(0, 3000));
    console.error('waiting for:', [...waiting.values()].map((w) => w.type));
  }
  clearTimeout(deadline);
  worker.terminate();
  process.exitCode = 1;
}
function check(cond, msg) { if (!cond) throw new Error(msg); }

// ---- protocol client ----
let nextId = 0;
const waiting = new Map();
const events = [];
let onEvent = null;
worker.on('message', (env) => {
  const m = JSON.parse(env.json);
  m.buf = env.buf;
  if (m.re && waiting.has(m.re)) {
    const { resolve, reject, type } = waiting.get(m.re);
    waiting.delete(m.re);
    if (m.type === 'error') reject(new Error(`${type}: ${m.message}`));
    else resolve(m);
    return;
  }
  events.push({ at: performance.now(), m });
  if (onEvent) onEvent(m);
});
worker.on('error', (e) => fail('worker error: ' + (e.stack || e)));

function send(type, fields = {}, buf) {
  const id = ++nextId;
  const env = { json: JSON.stringify({ v: 1, id, type, ...fields }) };
  if (buf) env.buf = buf;
  const p = new Promise((resolve, reject) => waiting.set(id, { resolve, reject, type }));
  worker.postMessage(env, buf ? [buf] : []);
  return p;
}
const waitEvent = (pred) => new Promise((resolve) => {
  const found = events.find((e) => pred(e.m));
  if (found) return resolve(found.m);
  onEvent = (m) => { if (pred(m)) { onEvent = null; resolve(m); } };
});

const config = { model: 'jsnano', task: 'reverse', method: 'lora', rank: 4, alpha: 8, rslora: false, dropout: 0,
  targets: ['q_proj', 'v_proj'], lr: 0.01, batch: 4, seed: 1, steps: 100000, eval_every: -1 };

async function main() {
  // Sent at once, before the Go program can be running: worker.js queues it.
  const configured = send('configure', { config });
  const ready = await waitEvent((m) => m.type === 'ready');
  check(ready.v === 1, 'ready without version 1');
  const readyAt = performance.now() - t0;
  const c = await configured;
  check(c.status.ready && c.status.data.train_examples === 3000, 'configure status ' + JSON.stringify(c.status));

  const s = await send('step', { n: 5 });
  const pts = events.filter((e) => e.m.type === 'progress').flatMap((e) => e.m.progress.points);
  check(s.progress.step === 5 && pts.length === 5 && pts.every((p) => Number.isFinite(p.loss)), 'step 5: ' + JSON.stringify(pts));

  // Play until at least three chunks and one snapshot have arrived (chunks
  // are ~50 ms; waiting for events rather than a fixed time keeps this
  // independent of how loaded the machine is), then pause: the pause must
  // be answered within one chunk.
  events.length = 0;
  const playStart = performance.now();
  await send('play');
  const count = (type) => events.filter((e) => e.m.type === type).length;
  while ((count('progress') < 3 || count('snapshot') < 1) && performance.now() - playStart < 10000) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const playedMs = performance.now() - playStart;
  const pauseSent = performance.now();
  const paused = await send('pause');
  const pauseMs = performance.now() - pauseSent;
  check(!paused.status.running, 'still running after pause');
  // Chunks that ended between the pause being posted and its reply: the one
  // in flight, and at most one more (the worker alternates two kinds of
  // yield, and node drains a MessagePort's messages in a row).
  const late = events.filter((e) => e.m.type === 'progress' && e.at > pauseSent).length;
  check(late <= 2, `${late} chunks ran after pause was posted`);
  const chunks = events.filter((e) => e.m.type === 'progress').map((e) => e.m.progress);
  const snaps = events.filter((e) => e.m.type === 'snapshot');
  check(chunks.length >= 3, `only ${chunks.length} progress events in ${playedMs.toFixed(0)} ms of play`);
  const maxChunk = Math.max(...chunks.map((p) => p.chunk_ms));
  check(maxChunk < 500, `a chunk took ${maxChunk} ms`);
  check(pauseMs < 1000, `pause answered after ${pauseMs.toFixed(0)} ms`);
  const maxSnaps = 1 + Math.ceil((performance.now() - playStart) / 300);
  check(snaps.length >= 1 && snaps.length <= maxSnaps, `${snaps.length} snapshot events in ${playedMs.toFixed(0)} ms (at most one per 300 ms)`);
  const snap = snaps[0].m;
  check(snap.buf instanceof ArrayBuffer, 'snapshot payload is not an ArrayBuffer');
  const floats = snap.snapshot.deltas.reduce((a, t) => a + t.rows * t.cols, 0);
  check(snap.snapshot.deltas.length === 4 && snap.buf.byteLength === 4 * floats, 'snapshot layout');
  const d0 = snap.snapshot.deltas[0];
  const view = new Float32Array(snap.buf, d0.offset * 4, d0.rows * d0.cols);
  const maxAbs = view.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
  check(Math.abs(maxAbs - d0.max_abs) < 1e-6 * Math.max(1, maxAbs) && maxAbs > 0, `ΔW view max ${maxAbs}, message says ${d0.max_abs}`);
  const tokensPerSec = chunks.reduce((a, p) => a + p.tokens_per_sec * p.chunk_ms, 0) / chunks.reduce((a, p) => a + p.chunk_ms, 0);
  const step = paused.status.step;

  const inspect = await send('inspect', { module: 'h.1.attn.v_proj' });
  check(inspect.inspect.numerical_rank <= 4 && inspect.inspect.numerical_rank >= 1 && inspect.inspect.singular.length === 32, 'inspect rank');

  // On a loaded machine play may have run only a few steps; greedy samples
  // need some training before they differ from the base's, so top up to 60.
  if (step < 60) await send('step', { n: 60 - step });
  const sample = await send('sample', { prompt: 'reverse: horse =', tokens: 12, seed: 3, temperature: 0 });
  check(sample.sample.base.length === 12 && sample.sample.adapted.length === 12, 'sample lengths');
  check(sample.sample.base !== sample.sample.adapted, 'base and adapted samples are equal after training');

  const merged = await send('merge');
  check(merged.merge.max_logit_diff < 1e-4 && merged.status.merged, 'merge diff ' + merged.merge.max_logit_diff);
  await send('unmerge');

  const ev = await send('evaluate');
  check(Number.isFinite(ev.eval.val_loss) && ev.eval.metric === 'exact_match' && ev.eval.rows === 64, 'evaluate ' + JSON.stringify(ev.eval));

  const exp = await send('export');
  check(exp.buf instanceof ArrayBuffer && exp.buf.byteLength === exp.export.bytes, 'export payload');
  const head = new Uint8Array(exp.buf, 0, 2);
  check(head[0] === 0x50 && head[1] === 0x4b, 'export is not a zip');
  const archive = exp.buf;
  const imported = await send('import', {}, archive);
  check(archive.byteLength === 0, 'the import payload was copied, not transferred');
  check(imported.status.config.rank === 4 && imported.status.step === 0, 'import status');

  await send('step', { n: 2 });
  const saved = await send('save_state');
  check(saved.buf.byteLength === saved.saved.bytes && saved.saved.step === 2, 'save_state');
  const restored = await send('restore_state', {}, saved.buf);
  check(restored.status.step === 2 && restored.history.losses.length === 2, 'restore_state');

  let refused = null;
  try { await send('import', {}, new TextEncoder().encode('not a zip').buffer); } catch (e) { refused = e; }
  check(refused && /import/.test(refused.message), 'garbage import accepted');

  let bench = '';
  if (benchModel) bench = await benchmark(benchModel);
  clearTimeout(deadline);
  console.log(`node_test: ok — ready after ${readyAt.toFixed(0)} ms; ${step} steps in play, ${chunks.length} chunks ` +
    `(longest ${maxChunk.toFixed(1)} ms), pause answered in ${pauseMs.toFixed(1)} ms, ` +
    `${tokensPerSec.toFixed(0)} tokens/s (random 2-layer width-32 model, batch 4, T=${c.status.config.seq_len}), ` +
    `merge |Δlogit| ${merged.merge.max_logit_diff.toExponential(2)}, total ${(performance.now() - t0).toFixed(0)} ms` + bench);
  await worker.terminate();
}

// benchmark trains a shipped model (dist/models/<name>) for 2 s of play on
// the default configuration and reports what the worker measured.
async function benchmark(name) {
  const tasks = {};
  for (const task of ['reverse', 'e2e']) {
    const cfg = { ...config, model: name, task, rank: 8, alpha: 16, batch: 8, lr: 0.003, eval_every: -1 };
    const t = performance.now();
    const c = await send('configure', { config: cfg });
    const configureMs = performance.now() - t;
    events.length = 0;
    await send('play');
    await new Promise((r) => setTimeout(r, 2000));
    const p = await send('pause');
    const chunks = events.filter((e) => e.m.type === 'progress').map((e) => e.m.progress);
    const ms = chunks.reduce((a, x) => a + x.chunk_ms, 0);
    const tps = chunks.reduce((a, x) => a + x.tokens_per_sec * x.chunk_ms, 0) / ms;
    let t1 = performance.now();
    await send('sample', { prompt: 'reverse: light =', tokens: 256, seed: 1, temperature: 0.8 });
    const sampleMs = performance.now() - t1;
    t1 = performance.now();
    const ev = await send('evaluate');
    const evalMs = performance.now() - t1;
    t1 = performance.now();
    await send('inspect', { module: 'h.0.attn.q_proj' });
    const inspectMs = performance.now() - t1;
    tasks[task] = `${task}: T=${c.status.config.seq_len}, ${p.status.step} steps in 2 s, ${(ms / p.status.step).toFixed(1)} ms/step, ` +
      `${tps.toFixed(0)} tokens/s, longest chunk ${Math.max(...chunks.map((x) => x.chunk_ms)).toFixed(0)} ms; configure ${configureMs.toFixed(0)} ms, ` +
      `sample 2×256 tokens ${sampleMs.toFixed(0)} ms, evaluate (${ev.eval.rows} rows${ev.eval.metric ? ' + accuracy' : ''}) ${evalMs.toFixed(0)} ms, inspect ${inspectMs.toFixed(0)} ms`;
  }
  return `\nbench ${name} (LoRA r=8 q,v, batch 8): \n  ${tasks.reverse}\n  ${tasks.e2e}`;
}

main().catch((e) => { if (!failed) fail(e.stack || e); });

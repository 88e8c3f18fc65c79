// Ad-hoc benchmark (not a test): the training worker in headless Chromium,
// SIMD trainer (trainer.wasm + kernels.wasm) against the pure-Go
// trainer-nosimd.wasm (?simd=0), alternating, on a shipped model. It uses
// playwright-core from tests/browser/node_modules and Debian's chromium.
//
//   ./build.sh && go build -o /tmp/serve ./cmd/serve && /tmp/serve -dir dist -addr 127.0.0.1:8099 &
//   LP_URL=http://127.0.0.1:8099/ node core/kernels/simd/chromium-bench.mjs [model] [task] [rounds]
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../../tests/browser/package.json'));
const { chromium } = require('playwright-core');
const [model = 'tiny', task = 'reverse', rounds = '3'] = process.argv.slice(2);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const page = await browser.newPage();
await page.goto(new URL('manifest.json', process.env.LP_URL).href);

// runs in the page: one worker, configure, play for ms, pause; the worker's
// own tokens/s, weighted by chunk time, as node_test.mjs --bench computes it.
async function run({ simd, model, task, ms }) {
  const w = new Worker('assets/js/worker.js' + (simd ? '' : '?simd=0'));
  let id = 0;
  const waiting = new Map(), events = [];
  w.onmessage = (e) => {
    const m = JSON.parse(e.data.json);
    if (m.re && waiting.has(m.re)) { const r = waiting.get(m.re); waiting.delete(m.re); m.type === 'error' ? r.reject(new Error(m.message)) : r.resolve(m); return; }
    events.push(m);
  };
  const send = (type, fields = {}) => new Promise((resolve, reject) => {
    const i = ++id; waiting.set(i, { resolve, reject });
    w.postMessage({ json: JSON.stringify({ v: 1, id: i, type, ...fields }) });
  });
  const cfg = { model, task, method: 'lora', rank: 8, alpha: 16, rslora: false, dropout: 0, targets: ['q_proj', 'v_proj'],
    lr: 0.003, batch: 8, seed: 1, steps: 100000, eval_every: -1 };
  const c = await send('configure', { config: cfg });
  await send('step', { n: 3 }); // warm up (V8 tiers up)
  events.length = 0;
  await send('play');
  await new Promise((r) => setTimeout(r, ms));
  await send('pause');
  const chunks = events.filter((m) => m.type === 'progress').map((m) => m.progress);
  const t = chunks.reduce((a, x) => a + x.chunk_ms, 0);
  const tps = chunks.reduce((a, x) => a + x.tokens_per_sec * x.chunk_ms, 0) / t;
  const t0 = performance.now();
  await send('sample', { prompt: 'reverse: light =', tokens: 256, seed: 1, temperature: 0.8 });
  const sampleMs = performance.now() - t0;
  w.terminate();
  return { tps, sampleMs, seq: c.status.config.seq_len };
}

const best = { simd: 0, go: 0 };
let seq = 0;
for (let r = 1; r <= Number(rounds); r++) {
  const s = await page.evaluate(run, { simd: true, model, task, ms: 3000 });
  const g = await page.evaluate(run, { simd: false, model, task, ms: 3000 });
  seq = s.seq;
  best.simd = Math.max(best.simd, s.tps);
  best.go = Math.max(best.go, g.tps);
  console.log(`round ${r}: pure Go ${g.tps.toFixed(0)} tokens/s (sample 2×256 ${g.sampleMs.toFixed(0)} ms)   ` +
    `SIMD ${s.tps.toFixed(0)} tokens/s (sample ${s.sampleMs.toFixed(0)} ms)   ×${(s.tps / g.tps).toFixed(2)}`);
}
console.log(`best (${model}/${task}, T=${seq}): pure Go ${best.go.toFixed(0)}, SIMD ${best.simd.toFixed(0)} tokens/s, ×${(best.simd / best.go).toFixed(2)} (${await page.evaluate(() => navigator.userAgent)})`);
await browser.close();

// Benchmark (not a test): data-parallel training in headless Chromium. The
// real training worker (assets/js/worker.js, SIMD trainer) with 1 worker
// against the same with 2 (it starts a nested Web Worker), alternating in
// one run, plus a control of two independent 1-worker runs at once (how
// much of a second core the machine gives right now). Run by
// `./build.sh bench workers`; by hand:
//
//   ./build.sh && go build -o /tmp/serve ./cmd/serve && /tmp/serve -dir dist -addr 127.0.0.1:8099 &
//   LP_URL=http://127.0.0.1:8099/ node wasm/trainer/chromium_workers_bench.mjs
//
// Configurations: the reference (tiny: V=97, C=128, 4 heads, 2 layers; verse
// text at T=64; batch 8; LoRA r=8 on q,v) and nano on e2e. It uses
// playwright-core from tests/browser/node_modules and Debian's chromium.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tests/browser/package.json'));
const { chromium } = require('playwright-core');
const rounds = Number(process.env.ROUNDS || 4), ms = Number(process.env.PLAY_MS || 2500);

const browser = await chromium.launch({
  executablePath: process.env.LP_CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(new URL('manifest.json', process.env.LP_URL).href);
  // The in-page harness: workers by name, each a protocol client.
  await page.evaluate(() => {
    const workers = {};
    window.bench = {
      async start(name, config, n, query = '') {
        const w = new Worker('assets/js/worker.js' + query);
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
        workers[name] = { w, send, events };
        if (n > 1) await send('workers', { n });
        const c = await send('configure', { config });
        for (let t0 = performance.now(); ;) { // the shards load the model
          const s = await send('status');
          if (s.status.workers.active === n) break;
          if (performance.now() - t0 > 60000) throw new Error(`${name}: ${JSON.stringify(s.status.workers)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        await send('step', { n: 5 }); // warm up (V8 tiers up)
        return c.status.config.seq_len;
      },
      async play(names, ms) {
        const one = async (name) => {
          const { send, events } = workers[name];
          const s0 = (await send('status')).status.step;
          events.length = 0;
          await send('play');
          await new Promise((r) => setTimeout(r, ms));
          const p = await send('pause');
          const chunks = events.filter((m) => m.type === 'progress').map((m) => m.progress);
          const t = chunks.reduce((a, x) => a + x.chunk_ms, 0);
          const w = p.status.workers;
          // How the last step's rows were cut (from the pause or an earlier status).
          const seen = [w, ...events.map((m) => m.status?.workers).filter(Boolean).reverse()];
          const cut = seen.find((x) => x.rows);
          // Every status resets the counts (wasm/protocol, Workers): sum them.
          const uneven = seen.reduce((a, x) => a + (x.uneven_steps || 0), 0), changes = seen.reduce((a, x) => a + (x.cut_changes || 0), 0);
          return { steps: p.status.step - s0, uneven, changes, tps: chunks.reduce((a, x) => a + x.tokens_per_sec * x.chunk_ms, 0) / t, active: w.active, exchange: w.exchange || '', shardMs: w.shard_ms || 0, waitMs: w.wait_ms || 0, ownMs: w.own_ms || 0,
            rows: cut ? cut.rows.join('+') : '' };
        };
        return Promise.all(names.map(one));
      },
      stop() { for (const k of Object.keys(workers)) { workers[k].w.terminate(); delete workers[k]; } },
    };
  });

  const runs = [
    { name: 'reference (tiny: C=128, 4 heads, 2 layers, T=64 verse text, batch 8)', config: { model: 'tiny', task: 'verse', seq_len: 64 } },
    { name: 'nano on e2e (batch 8)', config: { model: 'nano', task: 'e2e' } },
  ];
  for (const r of runs) {
    const config = { method: 'lora', rank: 8, alpha: 16, rslora: false, dropout: 0, targets: ['q_proj', 'v_proj'],
      lr: 0.003, batch: 8, seed: 1, steps: 1000000, eval_every: -1, ...r.config };
    const T = await page.evaluate(({ config }) => window.bench.start('one', config, 1), { config });
    await page.evaluate(({ config }) => window.bench.start('two', config, 2), { config });
    await page.evaluate(({ config }) => window.bench.start('other', config, 1), { config });
    // The same 2 workers by postMessage, as on a page that is not
    // cross-origin isolated (no SharedArrayBuffer lanes, lane.js).
    await page.evaluate(({ config }) => window.bench.start('msg', config, 2, '?lanes=0'), { config });
    // The same 2 workers with every step's rows cut evenly instead of by
    // the workers' measured speed (core/train, rowcut.go).
    await page.evaluate(({ config }) => window.bench.start('even', config, 2, '?cut=even'), { config });
    const isolated = await page.evaluate(() => self.crossOriginIsolated);
    console.log(`Chromium, ${r.name}, T=${T} (page cross-origin isolated: ${isolated}):`);
    const best = { one: 0, two: 0, both: 0 };
    const ratios = [], msgRatios = [], evenRatios = [];
    // Warm up each (V8 tiers up): 2 s of play.
    for (const name of ['one', 'two', 'msg', 'even', 'other']) await page.evaluate(({ name }) => window.bench.play([name], 2000), { name });
    const play1 = async (name) => (await page.evaluate(({ name, ms }) => window.bench.play([name], ms), { name, ms }))[0];
    for (let i = 1; i <= rounds; i++) {
      // The 2-worker variants take turns at going first after the single
      // worker: whichever runs first after it was slower in most rounds.
      const a = await play1('one');
      let b, m, e;
      if (i % 2) { b = await play1('two'); m = await play1('msg'); e = await play1('even'); }
      else { e = await play1('even'); m = await play1('msg'); b = await play1('two'); }
      msgRatios.push(m.tps / a.tps);
      evenRatios.push(e.tps / a.tps);
      const [x, y] = await page.evaluate(({ ms }) => window.bench.play(['one', 'other'], ms), { ms });
      best.one = Math.max(best.one, a.tps); best.two = Math.max(best.two, b.tps); best.both = Math.max(best.both, x.tps + y.tps);
      ratios.push(b.tps / a.tps);
      console.log(`  round ${i}: 1 worker ${a.tps.toFixed(0)} tokens/s   2 workers ${b.tps.toFixed(0)} tokens/s (${b.active} active; rows cut ${b.rows}, unevenly in ${b.uneven} of ${b.steps} steps, changed ${b.changes} times; primary's rows ${b.ownMs.toFixed(1)} ms, shard's ${b.shardMs.toFixed(1)} ms, then waited ${b.waitMs.toFixed(1)} ms)   ×${(b.tps / a.tps).toFixed(2)}` +
        `   [control: two independent runs ×${((x.tps + y.tps) / a.tps).toFixed(2)}; 2 workers by postMessage ×${(m.tps / a.tps).toFixed(2)}; exchange: ${b.exchange} vs ${m.exchange}]` +
        `\n           2 workers with the rows cut evenly: ×${(e.tps / a.tps).toFixed(2)} (rows cut ${e.rows}; primary's rows ${e.ownMs.toFixed(1)} ms, shard's ${e.shardMs.toFixed(1)} ms, then waited ${e.waitMs.toFixed(1)} ms)`);
    }
    console.log(`  best:    1 worker ${best.one.toFixed(0)} tokens/s   2 workers ${best.two.toFixed(0)} tokens/s   ×${(best.two / best.one).toFixed(2)}   [control best ×${(best.both / best.one).toFixed(2)}]`);
    // A round's two runs are seconds apart, so their ratio sees the same
    // machine; best-of-each can pair a lucky 1-worker round with another
    // round's 2 workers when the machine's speed drifts.
    console.log(`  median of the rounds' ratios: ×${median(ratios).toFixed(2)}; by postMessage ×${median(msgRatios).toFixed(2)}; rows cut evenly ×${median(evenRatios).toFixed(2)}`);
    await page.evaluate(() => window.bench.stop());
  }
} finally {
  await browser.close();
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

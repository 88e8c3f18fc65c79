// The peer benchmark: our LoRA training step and TensorFlow.js's, on the
// reference configuration (V=97, T=64, C=128, 4 heads, 2 layers, batch 8,
// LoRA r=8 on q_proj and v_proj), alternating in rounds in one run:
//
//   ours native       lora bench (the Go binary)
//   node              ours: lora-simd.wasm (SIMD128 kernels) and lora.wasm
//                     (pure Go) under core/kernels/simd/exec.mjs;
//                     theirs: tfjs-bench.mjs (tfjs wasm backend, SIMD, 1 thread),
//                     as tfjs differentiates it and "tuned" (hand-written
//                     gradients of the frozen layers, see tfjs-lora.mjs)
//   headless Chromium the same three, each in a fresh Web Worker of
//                     web/index.html (go-worker.js, tfjs-worker.js), served
//                     by cmd/serve on a free loopback port
//
// Every measurement warms up first (V8 starts wasm in its baseline tier) and
// then times the same number of steps. The table gives, per runtime, the
// best and the median round of each side and their ratio; on a shared
// machine the best round is the fairer figure. ./build.sh bench builds the
// inputs and runs this:
//
//   node bench/run.mjs --fixture DIR --lora bin/lora --wasm bin/lora.wasm \
//     --wasm-simd bin/lora-simd.wasm --serve BIN [--rounds 5] [--steps 20]
//     [--warmup-steps 5] [--no-browser]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const require = createRequire(import.meta.url);

const { values: opt } = parseArgs({
  options: {
    fixture: { type: 'string' }, lora: { type: 'string' }, wasm: { type: 'string' }, 'wasm-simd': { type: 'string' },
    serve: { type: 'string' }, rounds: { type: 'string', default: '5' }, steps: { type: 'string', default: '20' },
    'warmup-steps': { type: 'string', default: '5' }, 'no-browser': { type: 'boolean', default: false },
  },
});
for (const k of ['fixture', 'lora', 'wasm', 'wasm-simd', ...(opt['no-browser'] ? [] : ['serve'])]) {
  if (!opt[k]) {
    console.error(`run.mjs: --${k} is required (see the comment at the top of bench/run.mjs)`);
    process.exit(2);
  }
}
const rounds = Number(opt.rounds), steps = Number(opt.steps), warmup = Number(opt['warmup-steps']);
const benchArgs = ['bench', '--json', '--steps', String(steps), '--warmup-steps', String(warmup), '--profile-steps', '0'];
const kernelsWasm = path.join(root, 'core/kernels/simd/kernels.wasm');
const execMjs = path.join(root, 'core/kernels/simd/exec.mjs');

// ours prints indented JSON; tfjs-bench.mjs one line.
const tps = (out) => {
  const r = JSON.parse(out);
  if (!(r.tokens_per_sec > 0)) throw new Error(`no tokens_per_sec in ${out}`);
  return r.tokens_per_sec;
};
const run = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });

// The measurements, in the order each round runs them.
const cases = [
  { label: 'native Go', go: () => tps(run(opt.lora, benchArgs)) },
  { label: 'node, ours SIMD', go: () => tps(run('node', ['--stack-size=8192', execMjs, opt['wasm-simd'], ...benchArgs])) },
  { label: 'node, ours pure Go', go: () => tps(run('node', ['--stack-size=8192', execMjs, opt.wasm, ...benchArgs])) },
  ...['autodiff', 'tuned'].map((variant) => ({
    label: variant === 'tuned' ? 'node, tfjs tuned' : 'node, tfjs',
    go: () => tps(run('node', [path.join(here, 'tfjs-bench.mjs'), opt.fixture, '--json', '--variant', variant, '--steps', String(steps), '--warmup-steps', String(warmup)])),
  })),
];

let browser = null, server = null, site = null;
async function startBrowser() {
  // A folder to serve: the page and workers, tfjs from node_modules, the
  // fixture and our wasm binaries, as symlinks.
  site = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-bench-site-'));
  const link = (target, name) => fs.symlinkSync(path.resolve(target), path.join(site, name));
  link(path.join(here, 'web'), 'web');
  link(path.join(here, 'node_modules'), 'node_modules');
  link(path.join(here, 'tfjs-lora.mjs'), 'tfjs-lora.mjs');
  link(path.join(here, 'safetensors.mjs'), 'safetensors.mjs');
  link(opt.fixture, 'fixture');
  fs.mkdirSync(path.join(site, 'go'));
  link(opt.wasm, 'go/lora.wasm');
  link(opt['wasm-simd'], 'go/lora-simd.wasm');
  link(kernelsWasm, 'go/kernels.wasm');
  const goroot = execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim();
  link(path.join(goroot, 'lib/wasm/wasm_exec.js'), 'go/wasm_exec.js');

  server = spawn(opt.serve, ['-dir', site, '-addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    server.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) resolve(m[0]);
    });
    server.on('exit', (c) => reject(new Error(`cmd/serve exited (${c}) before it listened`)));
  });
  const { chromium } = require('playwright-core');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  await page.goto(url + 'web/index.html');
  const ua = await page.evaluate(() => navigator.userAgent);
  // inWorker runs in the page: one fresh worker, one message, its answer.
  const inWorker = (args) => page.evaluate(({ script, msg }) => new Promise((resolve, reject) => {
    const w = new Worker(script);
    w.onmessage = (e) => { w.terminate(); resolve(e.data); };
    w.onerror = (e) => { w.terminate(); reject(new Error(e.message)); };
    w.postMessage(msg);
  }), args);
  const ours = async (simd) => {
    const r = await inWorker({ script: 'go-worker.js', msg: { simd, args: benchArgs } });
    if (r.code !== 0) throw new Error(`lora bench in Chromium (simd=${simd}) exited ${r.code}: ${r.stderr}`);
    return tps(r.stdout);
  };
  const theirs = async (variant) => {
    const r = await inWorker({ script: 'tfjs-worker.js', msg: { fixture: url + 'fixture/', steps, warmup, variant } });
    if (r.error) throw new Error(`tfjs in Chromium: ${r.error}`);
    return r.tokens_per_sec;
  };
  cases.push(
    { label: 'Chromium, ours SIMD', go: () => ours(true) },
    { label: 'Chromium, ours pure Go', go: () => ours(false) },
    { label: 'Chromium, tfjs', go: () => theirs('autodiff') },
    { label: 'Chromium, tfjs tuned', go: () => theirs('tuned') });
  return ua;
}

function stop() {
  const b = browser;
  browser = null;
  const closing = b ? b.close().catch(() => {}) : Promise.resolve();
  return closing.finally(() => {
    if (server && server.exitCode === null) server.kill();
    if (site) fs.rmSync(site, { recursive: true, force: true });
  });
}
process.on('SIGINT', () => stop().finally(() => process.exit(130)));

const fmt = (x) => (x == null ? '—' : x.toFixed(0));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };

try {
  let ua = null;
  if (!opt['no-browser']) ua = await startBrowser();
  const results = new Map(cases.map((c) => [c.label, []]));
  console.log(`${rounds} rounds of ${cases.length} measurements; each warms up ${warmup} steps, then times ${steps} steps of batch 8 × 64 tokens`);
  for (let r = 1; r <= rounds; r++) {
    const line = [];
    for (const c of cases) {
      const v = await c.go();
      results.get(c.label).push(v);
      line.push(`${c.label} ${fmt(v)}`);
    }
    console.log(`  round ${r}: ${line.join(' · ')} tokens/s`);
  }
  const stat = (label, f) => (results.has(label) ? f(results.get(label)) : null);
  const best = (xs) => Math.max(...xs);
  const rows = [
    ['native (Go; no tfjs-node by design)', 'native Go', null],
    ['node, wasm SIMD', 'node, ours SIMD', 'node, tfjs'],
    ['node, wasm pure Go', 'node, ours pure Go', 'node, tfjs'],
    ['Chromium, wasm SIMD', 'Chromium, ours SIMD', 'Chromium, tfjs'],
    ['Chromium, wasm pure Go', 'Chromium, ours pure Go', 'Chromium, tfjs'],
  ].filter(([, ours]) => results.has(ours));
  const ratio = (a, b) => (a == null || b == null ? '—' : `×${(a / b).toFixed(2)}`);
  const cell = (label) => (label ? `${fmt(stat(label, best))} (${fmt(stat(label, median))})` : '—');
  console.log('\ntokens/s, best (median) of the rounds; tfjs = TensorFlow.js 4.22.0 wasm backend, SIMD, 1 thread;');
  console.log('"tuned" = tfjs with hand-written gradients for the frozen layers (plain products instead of transposed ones)');
  console.log('| runtime | ours tok/s | tfjs tok/s | ours/theirs best | ours/theirs median | tfjs tuned tok/s | ours/tuned best | ours/tuned median |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, o, t] of rows) {
    const tt = t && `${t} tuned`;
    const r = (x, f) => ratio(stat(o, f), x && stat(x, f));
    console.log(`| ${name} | ${cell(o)} | ${cell(t)} | ${r(t, best)} | ${r(t, median)} | ${cell(tt)} | ${r(tt, best)} | ${r(tt, median)} |`);
  }
  if (ua) console.log(`\nChromium: ${ua}`);
} finally {
  await stop();
}

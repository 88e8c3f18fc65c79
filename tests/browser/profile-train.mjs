// Profiler for the page's main thread while training (a tool, not a test).
//
//	./build.sh && go run ./cmd/serve -dir dist -addr 127.0.0.1:8080 &
//	LP_URL=http://127.0.0.1:8080/ node profile-train.mjs [seconds] [out.cpuprofile]
//
// Loads the page, presses play, records a CPU profile (CDP Profiler) and the
// long tasks of the training window, and prints self and inclusive time per
// function. Build ui.wasm without -ldflags=-s for Go function names; save the
// profile to open it in DevTools. LP_INIT_SCRIPT=file.js runs a script
// before the page's own (for experiments).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const secs = Number(process.argv[2] || 10);
const out = process.argv[3];
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-prof-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1400, height: 1000 },
});
await ctx.addInitScript(() => {
  window.__lt = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__lt.push([e.startTime, e.duration]); })
    .observe({ type: 'longtask', buffered: true });
});
if (process.env.LP_INIT_SCRIPT) await ctx.addInitScript({ path: process.env.LP_INIT_SCRIPT });
const page = ctx.pages()[0] ?? (await ctx.newPage());
await page.goto(process.env.LP_URL);
await page.waitForFunction(() => /ready/.test(document.querySelector('[role="status"].status')?.textContent || ''), null, { timeout: 60000 });
const cdp = await ctx.newCDPSession(page);
await cdp.send('Profiler.enable');
await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
const t0 = await page.evaluate(() => performance.now());
await cdp.send('Profiler.start');
await page.getByTestId('train').click();
await new Promise((r) => setTimeout(r, secs * 1000));
const { profile: prof } = await cdp.send('Profiler.stop');
const t1 = await page.evaluate(() => performance.now());
await page.getByTestId('train').click();
const steps = await page.getByTestId('step-count').textContent();
const lt = (await page.evaluate(() => window.__lt)).filter(([s]) => s >= t0 && s <= t1);
if (out) fs.writeFileSync(out, JSON.stringify(prof));
// Self time per function, and total ("inclusive") time per function.
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children || []) parent.set(c, n.id);
const self = new Map(), incl = new Map();
const dts = prof.timeDeltas;
let total = 0;
prof.samples.forEach((id, i) => {
  const dt = (dts[i + 1] ?? 0) / 1000;
  total += dt;
  const n = byId.get(id);
  const name = (x) => `${x.callFrame.functionName || '(anon)'} ${x.callFrame.url ? path.basename(x.callFrame.url) : ''}`.trim();
  self.set(name(n), (self.get(name(n)) || 0) + dt);
  const seen = new Set();
  for (let c = id; c !== undefined; c = parent.get(c)) {
    const k = name(byId.get(c));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) || 0) + dt);
  }
});
const top = (m, k) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k).map(([n, v]) => `${v.toFixed(0).padStart(7)} ms  ${n}`).join('\n');
console.log(`window ${(t1 - t0).toFixed(0)} ms, profiled ${total.toFixed(0)} ms, steps ${steps}`);
console.log(`long tasks: ${lt.length}, max ${Math.max(0, ...lt.map((x) => x[1])).toFixed(0)} ms, sum ${lt.reduce((s, x) => s + x[1], 0).toFixed(0)} ms`);
console.log('--- self'); console.log(top(self, 30));
console.log('--- inclusive'); console.log(top(incl, 45));
await ctx.close();
fs.rmSync(profile, { recursive: true, force: true });

// Timeline trace of the page's main thread while training (a tool, not a test).
//
//	LP_URL=http://127.0.0.1:8080/ node trace-train.mjs [seconds]
//
// Presses play, records a devtools.timeline trace (CDP Tracing) and sums the
// main thread's time per event kind (script, Layout, Paint, ParseHTML, GC…),
// over all tasks and inside each task over 50 ms. LP_INIT_SCRIPT as in
// profile-train.mjs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const secs = Number(process.argv[2] || 10);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-trace-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1400, height: 1000 },
});
if (process.env.LP_INIT_SCRIPT) await ctx.addInitScript({ path: process.env.LP_INIT_SCRIPT });
const page = ctx.pages()[0] ?? (await ctx.newPage());
await page.goto(process.env.LP_URL);
await page.waitForFunction(() => /ready/.test(document.querySelector('[role="status"].status')?.textContent || ''), null, { timeout: 60000 });
const cdp = await ctx.newCDPSession(page);
const events = [];
cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
await cdp.send('Tracing.start', { categories: 'devtools.timeline,v8,disabled-by-default-devtools.timeline', transferMode: 'ReportEvents' });
await page.getByTestId('train').click();
await new Promise((r) => setTimeout(r, secs * 1000));
await cdp.send('Tracing.end');
await done;
await page.getByTestId('train').click();
console.log('patched', await page.evaluate(() => window.lpVuguPatched));
console.log('steps', await page.getByTestId('step-count').textContent());
// Main thread of the page renderer: the thread with most RunTask time and a CrRendererMain name.
const names = new Map();
for (const e of events) if (e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, e.args.name);
const main = [...names].filter(([, n]) => n === 'CrRendererMain').map(([k]) => k);
const busy = new Map();
for (const e of events) if (e.ph === 'X' && e.name === 'RunTask' && main.includes(`${e.pid}:${e.tid}`)) busy.set(`${e.pid}:${e.tid}`, (busy.get(`${e.pid}:${e.tid}`) || 0) + e.dur);
const key = [...busy].sort((a, b) => b[1] - a[1])[0][0];
const ev = events.filter((e) => `${e.pid}:${e.tid}` === key && e.ph === 'X' && e.dur !== undefined).sort((a, b) => a.ts - b.ts);
const tasks = ev.filter((e) => e.name === 'RunTask');
const sumIn = (lo, hi) => {
  const m = new Map();
  for (const e of ev) if (e.ts >= lo && e.ts + e.dur <= hi && e.name !== 'RunTask') m.set(e.name, (m.get(e.name) || 0) + e.dur / 1000);
  return m;
};
const fmt = (m, k = 14) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([n, v]) => `   ${v.toFixed(1).padStart(8)} ms  ${n}`).join('\n');
const total = tasks.reduce((s, t) => s + t.dur, 0) / 1000;
console.log(`main thread: ${tasks.length} tasks, ${total.toFixed(0)} ms busy in ${secs} s`);
const all = new Map();
for (const t of tasks) for (const [k, v] of sumIn(t.ts, t.ts + t.dur)) all.set(k, (all.get(k) || 0) + v);
console.log('all tasks (nested events overlap):'); console.log(fmt(all, 20));
const long = tasks.filter((t) => t.dur > 50000).sort((a, b) => b.dur - a.dur);
console.log(`tasks > 50 ms: ${long.length}`);
const t0 = tasks.length ? tasks[0].ts : 0;
for (const t of long.slice(0, 8)) {
  const fns = ev.filter((e) => e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur && e.name === 'FunctionCall').map((e) => e.args?.data?.functionName || '?');
  console.log(` task ${(t.dur / 1000).toFixed(0)} ms at +${((t.ts - t0) / 1000).toFixed(0)} ms, calls: ${[...new Set(fns)].join(',')}`);
  console.log(fmt(sumIn(t.ts, t.ts + t.dur), 8));
}
await ctx.close();
fs.rmSync(profile, { recursive: true, force: true });

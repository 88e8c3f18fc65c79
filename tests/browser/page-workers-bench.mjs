// Benchmark (not a test): training on the real page, 1 worker against 2, in
// alternating page loads, and what the page's own main thread costs while
// it trains. On a 2-core machine the page's main thread (rendering the
// readouts, the loss chart and the ΔW heatmaps) competes with the training
// workers for the cores, so this is the ratio a learner sees, which
// wasm/trainer/chromium_workers_bench.mjs (a blank page) does not show.
//
//   ./build.sh && go build -o /tmp/serve ./cmd/serve && /tmp/serve -dir dist -addr 127.0.0.1:8099 &
//   LP_URL=http://127.0.0.1:8099/ node tests/browser/page-workers-bench.mjs [hash]
//
// hash (default model=nano&task=e2e) picks the run; ROUNDS (4) and SECS (8)
// set the rounds and the measured seconds of each load; VERBOSE=1 prints
// each load's status line. Each load is a fresh
// browser context (no saved session), waits until every asked-for worker
// trains, trains 2 s more to warm up, then counts steps for SECS seconds.
// The main thread's busy time is CDP's TaskDuration over the same window.
//
// With LP_URL_B set it compares two builds instead (e.g. a change to the
// page against main): the same WORKERS (2) on LP_URL and LP_URL_B,
// alternating.
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, URL_ } from './harness.mjs';

const rounds = Number(process.env.ROUNDS || 4), secs = Number(process.env.SECS || 8);
const hash = process.argv[2] || 'model=nano&task=e2e';
if (!URL_) throw new Error('set LP_URL to the served playground');

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });

const steps = async (page) => Number((await page.getByTestId('step-count').textContent()).replace(/[^0-9]/g, ''));
const taskSecs = async (cdp) => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration').value;

// run trains on a fresh page of url with n workers and returns steps/s
// and the main thread's busy fraction.
async function run(n, url = URL_) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  try {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${new URL(url).href}#${hash}&workers=${n}`);
    await page.waitForFunction(() => /ready/.test(document.querySelector('[role="status"].status')?.textContent || ''), null, { timeout: 60000 });
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.getByTestId('train').click();
    const want = n > 1 ? new RegExp(`on ${n} workers`) : /./;
    await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('[role="status"].status')?.textContent || ''),
      want.source, { timeout: 60000 });
    await new Promise((r) => setTimeout(r, 2000));
    const s0 = await steps(page), b0 = await taskSecs(cdp), t0 = Date.now();
    await new Promise((r) => setTimeout(r, secs * 1000));
    const s1 = await steps(page), b1 = await taskSecs(cdp), t1 = Date.now();
    const status = await page.locator('[role="status"].status').textContent();
    if (n > 1 && !want.test(status)) throw new Error(`${n} workers asked for, the status says: ${status}`);
    if (process.env.VERBOSE) console.log(`    ${n} worker(s): ${status.trim()}`);
    return { sps: (s1 - s0) / ((t1 - t0) / 1000), busy: (b1 - b0) / ((t1 - t0) / 1000) };
  } finally {
    await ctx.close();
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
try {
  if (process.env.LP_URL_B) {
    const n = Number(process.env.WORKERS || 2), B = process.env.LP_URL_B;
    console.log(`the page, #${hash}, ${n} workers: ${URL_} (A) vs ${B} (B), ${rounds} rounds of ${secs} s`);
    const ratios = [], busyA = [], busyB = [];
    for (let i = 1; i <= rounds; i++) {
      const a = await run(n), b = await run(n, B);
      ratios.push(b.sps / a.sps); busyA.push(a.busy); busyB.push(b.busy);
      console.log(`  round ${i}: A ${a.sps.toFixed(1)} steps/s (main thread busy ${(100 * a.busy).toFixed(0)}%)   B ${b.sps.toFixed(1)} steps/s (main thread busy ${(100 * b.busy).toFixed(0)}%)   B/A ×${(b.sps / a.sps).toFixed(2)}`);
    }
    console.log(`  median B/A ×${median(ratios).toFixed(2)}; main thread busy: median ${(100 * median(busyA)).toFixed(0)}% (A), ${(100 * median(busyB)).toFixed(0)}% (B)`);
    process.exit(0);
  }
  console.log(`the page, #${hash}: 1 worker vs 2, ${rounds} rounds of ${secs} s`);
  const ratios = [], busy1 = [], busy2 = [];
  for (let i = 1; i <= rounds; i++) {
    const a = await run(1), b = await run(2);
    ratios.push(b.sps / a.sps); busy1.push(a.busy); busy2.push(b.busy);
    console.log(`  round ${i}: 1 worker ${a.sps.toFixed(1)} steps/s (main thread busy ${(100 * a.busy).toFixed(0)}%)   ` +
      `2 workers ${b.sps.toFixed(1)} steps/s (main thread busy ${(100 * b.busy).toFixed(0)}%)   ×${(b.sps / a.sps).toFixed(2)}`);
  }
  console.log(`  median ×${median(ratios).toFixed(2)}; main thread busy: median ${(100 * median(busy1)).toFixed(0)}% with 1 worker, ${(100 * median(busy2)).toFixed(0)}% with 2`);
} finally {
  await browser.close();
}

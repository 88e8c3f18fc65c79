// Data-parallel training in headless Chromium: the same run (nano on the
// reverse task, seed 1) trained with 1 worker, then with 2 workers chosen
// in the settings (the training worker starts a nested Web Worker), gives
// the same losses step by step up to float32 summation order. The status
// line says "on 2 workers" (the shard joins a few seconds after it is
// asked for; the steps before train on one worker), and the workers line
// says they exchange gradients through shared memory (cmd/serve isolates
// the page). Throughput of both is reported as a diagnostic, not asserted:
// speed belongs to ./build.sh bench workers.
//
//	LP_URL=http://127.0.0.1:PORT/ node --test workers.test.mjs
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { URL_, ART, waitFor, launchChromium } from './harness.mjs';

const STEPS = 30;
const contexts = [];

// open starts a fresh browser context (no saved session) on hash; one
// browser serves both runs.
let browser;
async function open(hash) {
  browser ??= await launchChromium();
  const ctx = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(URL_ + '#' + hash);
  await page.getByTestId('train').waitFor({ timeout: 30000 });
  return page;
}

const text = async (page, id) => ((await page.getByTestId(id).first().textContent()) ?? '').trim();
const status = async (page) => ((await page.locator('[role="status"].status').first().textContent()) ?? '').trim();

// train plays until done(step, status) says so (noting the statuses seen),
// pauses and returns the train losses by step from the page's CSV export.
async function train(page, done) {
  const seen = new Set();
  let joined = 0;
  await page.getByTestId('train').click();
  await waitFor(async () => {
    const st = await status(page);
    seen.add(st.replace(/[\d.]+ tokens\/s/, 'N tokens/s'));
    const step = Number.parseInt(await text(page, 'step-count'), 10);
    if (!joined && /on 2 workers/.test(st)) joined = step;
    return { step, joined };
  }, (v) => done(v), { timeout: 240000, interval: 200, message: 'training did not get far enough' });
  const last = await status(page);
  await page.getByTestId('train').click();
  await waitFor(() => page.getByTestId('train').getAttribute('aria-pressed'), (v) => v === 'false', { timeout: 10000, message: 'did not pause' });
  await new Promise((r) => setTimeout(r, 700));
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), page.getByTestId('export-csv').click()]);
  // run,step,split,loss,smoothed; the run's label is quoted ("#1 r=8 q,v").
  const rows = fs.readFileSync(await dl.path(), 'utf8').trim().split('\n').slice(1)
    .map((l) => l.replace(/^"(?:[^"]|"")*"/, 'run').split(','));
  const losses = new Map(rows.filter((r) => r[2] === 'train').map((r) => [Number(r[1]), Number(r[3])]));
  return { losses, seen, last, joined, line: await text(page, 'workers-line') };
}

test('2 workers chosen in the settings train the 1-worker curve, and the status says so', async (t) => {
  assert.ok(URL_, 'set LP_URL to the served playground (./build.sh test does)');
  fs.mkdirSync(ART, { recursive: true });
  const hash = 'task=reverse&workers=1';

  // 2 workers first: the shard joins a few seconds after it is asked for
  // (it compiles the trainer and loads the model); train until it has
  // computed at least 10 steps.
  const p2 = await open(hash);
  await p2.getByTestId('workers').selectOption('2');
  await waitFor(() => p2.evaluate(() => location.hash), (h) => h.includes('workers=2'), { timeout: 5000, message: 'the link does not record workers=2' });
  const two = await train(p2, ({ step, joined }) => joined > 0 && step >= Math.max(STEPS, joined + 10));
  t.diagnostic(`2 workers: ${two.last} (joined at step ${two.joined}); statuses seen: ${[...two.seen].join(' | ')}`);
  await p2.screenshot({ path: path.join(ART, 'workers-2.png'), fullPage: true });
  assert.match(two.line, /2 training/, 'the workers line beside the control');
  // cmd/serve isolates the page, so the workers share memory (lane.js).
  assert.equal(await p2.evaluate(() => self.crossOriginIsolated), true, 'the page is not cross-origin isolated');
  assert.match(two.line, /exchanging gradients through shared memory/, 'the workers line says how gradients travel');
  const last = Math.max(...two.losses.keys());
  await contexts[0].close();

  // The same run alone, to the same step.
  const p1 = await open(hash);
  const one = await train(p1, ({ step }) => step >= last);
  t.diagnostic(`1 worker: ${one.last}`);

  let compared = 0, maxRel = 0;
  for (const [step, l2] of two.losses) {
    const l1 = one.losses.get(step);
    assert.ok(l1 !== undefined, `step ${step} missing from the 1-worker run`);
    const rel = Math.abs(l2 - l1) / l1;
    maxRel = Math.max(maxRel, rel);
    assert.ok(rel < 1e-4, `step ${step}: loss ${l2} with 2 workers, ${l1} with 1`);
    compared++;
  }
  assert.ok(compared >= STEPS, `only ${compared} steps compared`);
  t.diagnostic(`${compared} steps compared (2 workers from step ${two.joined}), largest relative difference ${maxRel.toExponential(1)}`);
});

after(async () => {
  for (const ctx of contexts) await ctx.close().catch(() => {});
  await browser?.close();
});

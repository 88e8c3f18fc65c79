// End-to-end tests of the built playground (dist/) in headless Debian
// Chromium, driven by playwright-core. `./build.sh test` builds the site,
// serves it with cmd/serve on a free loopback port and runs
//
//	LP_URL=http://127.0.0.1:PORT/ node --test playground.test.mjs
//
// The tests share one browser profile and one page and run in order, like a
// learner's session: load, check the parameter panel, train and pause (with
// the chart, its downloads, an open explanation and typing while training),
// one step, generate, merge, export, Share without the edge, reload, bad
// import, good import, then a
// 10-second training run watched for long main-thread tasks. They find
// elements only by the data-testid contract of issue 4.
//
// Screenshots of every stage and metrics.json go to LP_ARTIFACTS
// (default: test-artifacts/browser at the repository root).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { URL_, ART, CHROMIUM, CHROMIUM_ARGS, checkEnvironment, waitFor, screenshots } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// Issue 4: "page interactive in under two seconds on localhost" and "never a
// long task over 200 ms on the main thread while training".
const INTERACTIVE_BUDGET_MS = Number(process.env.LP_INTERACTIVE_BUDGET_MS || 2000);
const LONG_TASK_BUDGET_MS = 200;
const TRAIN_SECONDS = Number(process.env.LP_TRAIN_SECONDS || 10);

const metrics = {};
let ctx, page, profile;

// The observers are installed before any page script runs, on every load.
function initScript() {
  window.__lp = { longTasks: [], trainVisibleAt: null };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__lp.longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) {
    window.__lp.longTaskError = String(e);
  }
  const mo = new MutationObserver(() => {
    if (document.querySelector('[data-testid="train"]')) {
      window.__lp.trainVisibleAt = performance.now();
      mo.disconnect();
    }
  });
  mo.observe(document, { childList: true, subtree: true });
}

// waitFor polls probe until check accepts its value, or fails with message
// and the last value seen.
const byId = (id) => page.getByTestId(id);
const text = async (id) => ((await byId(id).first().textContent()) ?? '').trim();
const stepCount = async () => Number.parseInt(await text('step-count'), 10);
const statusText = async () => ((await page.locator('[role="status"].status').textContent()) ?? '').trim();
const errorText = async () => ((await page.locator('[data-testid="error"]').count()) ? text('error') : '');

const shoot = screenshots('');
const screenshot = (name, p = page) => shoot(p, name);

// heatmapPixels hashes every ΔW canvas's pixels (FNV-1a) and counts its
// non-white pixels.
async function heatmapPixels() {
  return page.evaluate(() =>
    [...document.querySelectorAll('canvas[data-testid="heatmap"]')].map((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let h = 0x811c9dc5, coloured = 0;
      for (let i = 0; i < d.length; i++) {
        h = Math.imul(h ^ d[i], 16777619) >>> 0;
        if (i % 4 === 0 && !(d[i] > 250 && d[i + 1] > 250 && d[i + 2] > 250)) coloured++;
      }
      return { label: c.getAttribute('aria-label'), w: c.width, h: c.height, hash: h, coloured };
    }),
  );
}

// chartPixels summarises the loss chart canvas: its size, an FNV-1a hash of
// its pixels, how many are not white, and how many are the first run's
// colour (Okabe–Ito blue #0072b2, allowing for antialiasing).
async function chartPixels() {
  return page.evaluate(() => {
    const c = document.querySelector('canvas[data-testid="loss-chart"]');
    if (!c) return null;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let h = 0x811c9dc5, ink = 0, blue = 0;
    for (let i = 0; i < d.length; i += 4) {
      h = Math.imul(h ^ d[i] ^ (d[i + 1] << 8) ^ (d[i + 2] << 16), 16777619) >>> 0;
      if (!(d[i] > 250 && d[i + 1] > 250 && d[i + 2] > 250)) ink++;
      if (Math.abs(d[i] - 0x00) < 40 && Math.abs(d[i + 1] - 0x72) < 40 && Math.abs(d[i + 2] - 0xb2) < 40) blue++;
    }
    return { w: c.width, h: c.height, hash: h, ink, blue };
  });
}

async function heatmapsSettled() {
  // Two reads 300 ms apart that agree: the page has drawn the latest snapshot.
  return waitFor(
    async () => {
      const a = await heatmapPixels();
      await new Promise((r) => setTimeout(r, 300));
      const b = await heatmapPixels();
      return { a, same: JSON.stringify(a) === JSON.stringify(b) };
    },
    (v) => v.same && v.a.length > 0,
    { timeout: 15000, message: 'heatmaps did not settle' },
  ).then((v) => v.a);
}

async function pause() {
  await byId('train').click();
  await waitFor(() => byId('train').getAttribute('aria-pressed'), (v) => v === 'false', {
    timeout: 5000, message: 'play button still pressed after pause',
  });
  // Pause is answered within one ~50 ms chunk: the count must stop moving.
  return waitFor(
    async () => {
      const a = await stepCount();
      await new Promise((r) => setTimeout(r, 700));
      return [a, await stepCount()];
    },
    ([a, b]) => a === b,
    { timeout: 10000, message: 'step count kept growing after pause' },
  ).then(([, b]) => b);
}

before(async () => {
  checkEnvironment();
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
    acceptDownloads: true,
  });
  await ctx.addInitScript(initScript);
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => console.error('page error:', e.message));
  page.on('console', (m) => { if (m.type() === 'error') console.error('console error:', m.text()); });
});

after(async () => {
  metrics.screenshots = fs.existsSync(ART) ? fs.readdirSync(ART).filter((f) => f.endsWith('.png')) : [];
  if (fs.existsSync(ART)) fs.writeFileSync(path.join(ART, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  console.log('metrics:', JSON.stringify(metrics));
  await ctx?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

test('the page loads and is interactive quickly', async (t) => {
  const res = await page.goto(URL_, { waitUntil: 'commit' });
  assert.equal(res.status(), 200);
  await page.waitForSelector('html[data-ready="1"]', { timeout: 20000 });
  await byId('train').waitFor({ state: 'visible', timeout: 20000 });
  const interactive = await page.evaluate(() => window.__lp.trainVisibleAt);
  assert.ok(interactive > 0, 'the observer saw the play button appear');
  metrics.interactiveMs = Math.round(interactive);
  t.diagnostic(`play button rendered ${metrics.interactiveMs} ms after navigation start`);
  assert.ok(interactive < INTERACTIVE_BUDGET_MS,
    `page interactive after ${Math.round(interactive)} ms (budget ${INTERACTIVE_BUDGET_MS} ms)`);
  // The worker has loaded the model and task when the status says ready.
  await waitFor(statusText, (s) => /ready/.test(s), { timeout: 30000, message: 'the trainer never became ready' });
  metrics.trainerReadyMs = Math.round(await page.evaluate(() => performance.now()));
  assert.equal(await stepCount(), 0);
  assert.equal(await errorText(), '');
  // ui-glue.js makes vugu write only what changed (see its comment); without
  // it every render relays out the page and clears every canvas.
  assert.equal(await page.evaluate(() => window.lpVuguPatched), 6, 'vugu\'s DOM writer is patched');
  // The loss chart is one canvas, drawn (axes) before any training.
  const chart = await waitFor(chartPixels, (p) => p && p.ink > 500, { timeout: 10000, message: 'the empty loss chart was not drawn' });
  assert.equal(chart.w / chart.h, 2, 'the chart canvas keeps its 2:1 shape');
  await screenshot('loaded');
});

test('the parameter panel reproduces the paper: 4.7M at r=1, 37.7M at r=8 (q,v on GPT-3)', async () => {
  assert.equal(await byId('target-q_proj').isChecked(), true);
  assert.equal(await byId('target-v_proj').isChecked(), true);
  assert.equal(await byId('target-k_proj').isChecked(), false);
  assert.equal(await byId('method').inputValue(), 'lora');
  assert.equal(await byId('rank').inputValue(), '8');
  assert.equal(await text('params-gpt3-trainable'), '37.7M');
  const trainableR8 = await text('params-trainable');
  await byId('rank').fill('1');
  await waitFor(() => text('params-gpt3-trainable'), (v) => v === '4.7M', { timeout: 5000, message: 'r=1 should give 4.7M' });
  assert.notEqual(await text('params-trainable'), trainableR8, 'the local trainable count follows r');
  await byId('rank').fill('8');
  await waitFor(() => text('params-gpt3-trainable'), (v) => v === '37.7M', { timeout: 5000, message: 'r=8 should give 37.7M' });
  assert.equal(await text('params-trainable'), trainableR8);
  await waitFor(statusText, (s) => /ready/.test(s), { timeout: 30000, message: 'the trainer did not get ready again after r changed' });
  await screenshot('parameters');
});

let firstLoss, lastLoss, pixelsEarly, pixelsAfterTraining, stepsAfterTraining;

test('training: steps grow past 20, the loss falls, the heatmaps change, pause stops', async (t) => {
  assert.equal(await byId('heatmap').count(), 0, 'no ΔW before the first step');
  assert.equal(await text('val-loss-when'), 'every 50 steps', 'before any evaluation the readout says when to expect one');
  // An explanation opened by the learner stays open while the page re-renders.
  await page.locator('section.chart details summary').click();
  const chartBefore = await chartPixels();
  await byId('train').click();
  await waitFor(() => byId('train').getAttribute('aria-pressed'), (v) => v === 'true', { timeout: 5000, message: 'play did not start' });
  // The first loss the page shows.
  firstLoss = Number.parseFloat(await waitFor(() => text('train-loss'), (v) => /^\d/.test(v), {
    timeout: 60000, interval: 50, message: 'no training loss shown',
  }));
  // A fresh run's validation loss is measured before its first step, so the
  // readout shows a number (and when it was measured) from the start.
  const val0 = await waitFor(async () => [await text('val-loss'), await text('val-loss-when')],
    ([v, w]) => /^\d/.test(v) && /^at step \d+$/.test(w), { timeout: 60000, message: 'no validation loss shown' });
  t.diagnostic(`validation loss ${val0[0]} ${val0[1]}`);
  // The first heatmaps drawn.
  await waitFor(() => byId('heatmap').count(), (n) => n > 0, { timeout: 30000, message: 'no ΔW heatmap while training' });
  pixelsEarly = await heatmapPixels();
  // Typing into a field while training keeps what is typed (renders used to
  // put the old value back at every progress event).
  // The samples panel starts with a prompt in the task's own format (the
  // first validation meaning representation); clear it, then type.
  const suggested = await waitFor(() => byId('prompt').inputValue(), (v) => v.startsWith('name['),
    { timeout: 30000, message: 'no sample prompt in the task\'s format was suggested' });
  t.diagnostic(`suggested prompt ${JSON.stringify(suggested)}`);
  await byId('prompt').fill('');
  await byId('prompt').click();
  await page.keyboard.type('name[The Eagle]', { delay: 60 });
  assert.equal(await byId('prompt').inputValue(), 'name[The Eagle]', 'typing while training');
  await waitFor(stepCount, (n) => n > 20, { timeout: 120000, interval: 250, message: 'step count never passed 20' });
  assert.equal(await page.locator('section.chart details').evaluate((d) => d.open), true, 'the opened explanation stayed open');
  // The chart follows training: drawn in the run's colour, and changing.
  const chartTraining = await waitFor(chartPixels, (p) => p.hash !== chartBefore.hash && p.blue > 200, {
    timeout: 10000, message: 'the loss chart did not draw the run',
  });
  metrics.chartWhileTraining = { ink: chartTraining.ink, blue: chartTraining.blue };
  await screenshot('training');
  stepsAfterTraining = await pause();
  lastLoss = Number.parseFloat(await text('train-loss'));
  t.diagnostic(`train loss ${firstLoss} → ${lastLoss} at step ${stepsAfterTraining}`);
  metrics.trainLoss = { first: firstLoss, last: lastLoss, step: stepsAfterTraining };
  assert.ok(lastLoss < firstLoss, `train loss should fall: first ${firstLoss}, last ${lastLoss}`);
  assert.equal(await errorText(), '');

  // The whole curve, as the page exports it: the mean of the last five raw
  // losses is clearly below the mean of the first five.
  const [csv] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), byId('export-csv').click()]);
  const csvPath = path.join(ART, 'loss.csv');
  await csv.saveAs(csvPath);
  const rows = parseCSV(fs.readFileSync(csvPath, 'utf8'));
  const losses = rows.filter((r) => r.split === 'train').map((r) => Number.parseFloat(r.loss)).filter(Number.isFinite);
  assert.ok(losses.length >= 20, `the CSV holds every step's loss (got ${losses.length} rows)`);
  const val = rows.filter((r) => r.split === 'val');
  assert.ok(val.length >= 1 && val[0].step === '0', `the first validation point is at step 0: ${JSON.stringify(val[0])}`);
  metrics.valLossStep0 = Number.parseFloat(val[0].loss);
  const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
  const head = mean(losses.slice(0, 5)), tail = mean(losses.slice(-5));
  metrics.csvLoss = { first5: +head.toFixed(4), last5: +tail.toFixed(4), points: losses.length };
  assert.ok(tail < head - 0.05, `mean loss of the last 5 steps (${tail.toFixed(3)}) should be below the first 5 (${head.toFixed(3)})`);

  // The chart's downloads: SVG built on demand, PNG rasterised from it.
  const [svgDl] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), byId('export-svg').click()]);
  const svg = fs.readFileSync(await svgDl.path(), 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok((svg.match(/<path /g) || []).length >= 2, 'the SVG has the run\'s curves');
  assert.match(svg, /#0072b2/);
  const [pngDl] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), byId('export-png').click()]);
  const png = fs.readFileSync(await pngDl.path());
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', 'a PNG file');
  assert.ok(png.length > 5000, `PNG of ${png.length} bytes`);
  await pngDl.saveAs(path.join(ART, 'loss-chart.png'));
  metrics.chartExports = { svgBytes: svg.length, pngBytes: png.length };

  // The heatmaps: one per adapted matrix (q and v in every layer), drawn
  // (not white), and different from the first ones drawn.
  const model = await byId('model').inputValue();
  const cfg = await page.evaluate(async (m) => (await fetch(`models/${m}/config.json`)).json(), model);
  pixelsAfterTraining = await heatmapsSettled();
  assert.equal(pixelsAfterTraining.length, 2 * cfg.n_layer, 'one heatmap per adapted matrix (q, v × layers)');
  for (const p of pixelsAfterTraining) assert.ok(p.coloured > p.w * p.h / 4, `${p.label} is mostly white: ${p.coloured} coloured pixels`);
  const changed = pixelsAfterTraining.filter((p, i) => pixelsEarly[i] && pixelsEarly[i].hash !== p.hash);
  assert.ok(changed.length > 0, 'at least one ΔW heatmap changed while training');
  metrics.heatmaps = { count: pixelsAfterTraining.length, changed: changed.length };
  await screenshot('paused');
});

test('the step button advances exactly one step', async () => {
  const n = await stepCount();
  await byId('step').click();
  await waitFor(stepCount, (v) => v !== n, { timeout: 15000, message: `step count stayed at ${n}` });
  assert.equal(await stepCount(), n + 1);
  // ...and stays there (the worker answers "step" and stops).
  await waitFor(() => statusText(), (s) => s === 'paused', { timeout: 5000, message: 'status should say paused after one step' });
  const stable = await waitFor(async () => {
    await new Promise((r) => setTimeout(r, 1000));
    return stepCount();
  }, () => true, { timeout: 5000, message: 'unreachable' });
  assert.equal(stable, n + 1, `one step from ${n} should end at ${n + 1}`);
  assert.equal(await byId('train').getAttribute('aria-pressed'), 'false');
});

test('generate shows base and adapted samples side by side', async (t) => {
  await byId('prompt').fill('name[Pepper Mill] food[Mexican] area[riverside]\n');
  await byId('generate').click();
  const [base, adapted] = await waitFor(
    async () => [await text('sample-base'), await text('sample-adapted')],
    ([b, a]) => b.length > 0 && a.length > 0,
    { timeout: 60000, message: 'samples did not appear' },
  );
  t.diagnostic(`base: ${JSON.stringify(base.slice(0, 80))}`);
  t.diagnostic(`adapted: ${JSON.stringify(adapted.slice(0, 80))}`);
  metrics.samples = { base, adapted };
  assert.equal(await errorText(), '');
  await screenshot('samples');
});

test('merge shows a max |logit diff| below 1e-3 and unchanged shapes', async (t) => {
  await byId('merge').click();
  const diffText = await waitFor(() => byId('merge-diff').count().then((n) => (n ? text('merge-diff') : '')),
    (s) => /\d\.\d+e[+-]\d+/.test(s), { timeout: 30000, message: 'no merge measurement shown' });
  const diff = Number.parseFloat(diffText.match(/(\d\.\d+e[+-]\d+)/)[1]);
  metrics.mergeMaxLogitDiff = diff;
  t.diagnostic(`max |logit diff| ${diff}`);
  assert.ok(diff < 1e-3, `merged vs unmerged logits differ by ${diff}`);
  assert.match(diffText, /kept their shape/);
  await screenshot('merged');
});

let exported, pixelsExported;

test('export downloads a PEFT archive', async () => {
  pixelsExported = await heatmapsSettled();
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), byId('export').click()]);
  exported = path.join(ART, dl.suggestedFilename() || 'adapter.zip');
  await dl.saveAs(exported);
  const b = fs.readFileSync(exported);
  assert.ok(b.length > 1000, `archive is ${b.length} bytes`);
  assert.equal(b.subarray(0, 4).toString('latin1'), 'PK\x03\x04', 'a zip archive');
  const s = b.toString('latin1');
  assert.ok(s.includes('adapter_config.json') && s.includes('adapter_model.safetensors'), 'PEFT file names inside');
  metrics.exportBytes = b.length;
});

test('served without the edge, Share explains that sharing needs it', async () => {
  let downloads = 0;
  const count = () => downloads++;
  page.on('download', count);
  await byId('share').click();
  const msg = await waitFor(() => text('share-message'), (m) => m.includes('./build.sh edge'),
    { timeout: 10000, message: 'the Share button should say that sharing needs the edge' });
  assert.match(msg, /needs the edge/);
  assert.equal(await byId('share-link').count(), 0, 'no link without the edge');
  assert.equal(await errorText(), '', 'not an error: an explanation');
  page.off('download', count);
  assert.equal(downloads, 0, 'Share does not download');
  await screenshot('share-needs-edge');
});

test('a reload restores the run at the same step', async () => {
  const n = await stepCount();
  // The run was saved after the last step; wait until the save landed.
  await waitFor(() => page.evaluate(() => window.lpLastSave ?? 0), (v) => v > 0, {
    timeout: 15000, message: 'the run was never saved to IndexedDB',
  });
  const runs = await page.locator('[data-testid="runs-table"] tbody tr').count();
  await page.reload({ waitUntil: 'commit' });
  await byId('train').waitFor({ state: 'visible', timeout: 20000 });
  await waitFor(stepCount, (v) => v === n, { timeout: 30000, message: `the reloaded page should be at step ${n}` });
  await waitFor(statusText, (s) => s.includes(`restored your run at step ${n}`), { timeout: 30000, message: 'no "restored" status' });
  assert.equal(await page.locator('[data-testid="runs-table"] tbody tr').count(), runs, 'the runs table survived');
  assert.ok(/^\d/.test(await text('train-loss')), 'the loss readout is restored');
  const px = await heatmapsSettled();
  assert.deepEqual(px.map((p) => p.hash), pixelsExported.map((p) => p.hash), 'the restored ΔW is the saved one');
  await screenshot('reloaded');
});

test('importing a corrupted file shows an error and keeps the run', async () => {
  const n = await stepCount();
  const runs = await page.locator('[data-testid="runs-table"] tbody tr').count();
  const good = fs.readFileSync(exported);
  const bad = Buffer.from(good);
  for (let i = Math.floor(bad.length / 3); i < bad.length; i += 7) bad[i] ^= 0x5a; // scramble data and directory
  await byId('import').setInputFiles({ name: 'corrupted.zip', mimeType: 'application/zip', buffer: bad });
  const err = await waitFor(errorText, (s) => s.length > 0, { timeout: 15000, message: 'no error for a corrupted archive' });
  metrics.corruptedImportError = err;
  const status = await statusText();
  assert.ok(!/importing/.test(status), `the status line still announces the import: "${status}"`);
  assert.match(status, /import failed/);
  assert.equal(await stepCount(), n, 'the run keeps its step count');
  assert.equal(await page.locator('[data-testid="runs-table"] tbody tr').count(), runs, 'no run added or removed');
  const px = await heatmapPixels();
  assert.deepEqual(px.map((p) => p.hash), pixelsExported.map((p) => p.hash), 'the adapter is unchanged');
  await screenshot('corrupted-import');
});

test('importing the exported adapter back is accepted', async () => {
  await byId('import').setInputFiles(exported);
  await waitFor(statusText, (s) => /imported a LoRA adapter: r=8/.test(s), { timeout: 30000, message: 'import not accepted' });
  assert.equal(await errorText(), '');
  assert.equal(await stepCount(), 0, 'an imported adapter starts a run at step 0');
  const px = await heatmapsSettled();
  assert.deepEqual(px.map((p) => p.hash), pixelsExported.map((p) => p.hash), 'the imported ΔW is the exported one');
  await screenshot('imported');
});

test(`no main-thread long task over ${LONG_TASK_BUDGET_MS} ms while training for ${TRAIN_SECONDS} s`, async (t) => {
  const t0 = await page.evaluate(() => performance.now());
  const s0 = await stepCount();
  await byId('train').click();
  const tokens = [];
  const end = Date.now() + TRAIN_SECONDS * 1000;
  while (Date.now() < end) { // sampling the readout, not waiting for an outcome
    const m = (await statusText()).match(/training: (\d+) tokens\/s/);
    if (m) tokens.push(Number(m[1]));
    await new Promise((r) => setTimeout(r, 500));
  }
  const t1 = await page.evaluate(() => performance.now());
  await screenshot('long-task-run');
  const s1 = await pause();
  const { tasks, error } = await page.evaluate(([a, b]) => ({
    tasks: window.__lp.longTasks.filter((e) => e.start >= a && e.start <= b), error: window.__lp.longTaskError,
  }), [t0, t1]);
  assert.equal(error, undefined, 'PerformanceObserver supports longtask');
  const max = tasks.reduce((m, e) => Math.max(m, e.duration), 0);
  metrics.longTasks = { count: tasks.length, maxMs: Math.round(max), steps: s1 - s0, windowMs: Math.round(t1 - t0) };
  metrics.tokensPerSec = tokens.length ? { median: tokens.sort((a, b) => a - b)[tokens.length >> 1], min: tokens[0], max: tokens[tokens.length - 1] } : null;
  t.diagnostic(`${tasks.length} long tasks, max ${Math.round(max)} ms, ${s1 - s0} steps, tokens/s ${JSON.stringify(metrics.tokensPerSec)}`);
  assert.ok(s1 - s0 > 5, `training progressed (${s1 - s0} steps)`);
  assert.ok(tokens.length > 0, 'the page showed a tokens/s rate while training');
  assert.ok(max <= LONG_TASK_BUDGET_MS, `longest main-thread task while training: ${Math.round(max)} ms (budget ${LONG_TASK_BUDGET_MS} ms)`);
});

// openWithResults opens a second tab of the site whose manifest says
// whether results.json ships and whose results.json is the given body (or a
// 404 when body is null), leaving the real files alone.
async function openWithResults(body) {
  const p = await ctx.newPage();
  await p.route('**/manifest.json', async (route) => {
    const res = await route.fetch();
    const man = await res.json();
    man.results = body !== null;
    await route.fulfill({ response: res, json: man });
  });
  await p.route('**/results.json', (route) => (body === null
    ? route.fulfill({ status: 404, body: 'not found' })
    : route.fulfill({ status: 200, contentType: 'application/json', body })));
  await p.goto(URL_, { waitUntil: 'commit' });
  await p.getByTestId('train').waitFor({ state: 'visible', timeout: 20000 });
  // The catalogue (models, then tasks) has loaded when the task list is filled.
  await waitFor(() => p.locator('[data-testid="task"] option').count(), (n) => n > 1, {
    timeout: 30000, message: 'the task list never loaded',
  });
  return p;
}

test('the runs panel shows the reference results for the selected model and task (fixture)', async () => {
  const fixture = fs.readFileSync(path.join(HERE, 'fixtures', 'results.json'), 'utf8');
  const p = await openWithResults(fixture);
  try {
    await p.getByTestId('model').selectOption('nano');
    await p.getByTestId('task').selectOption('e2e');
    const ref = p.getByTestId('reference-results');
    await ref.waitFor({ state: 'visible', timeout: 15000 });
    assert.match(await ref.textContent(), /Reference results \(measured natively with the CLI\)/);
    const rows = () => p.locator('[data-testid="reference-table"] tbody tr').allTextContents();
    const e2e = await waitFor(rows, (r) => r.length === 4, { timeout: 5000, message: 'nano/e2e has 4 fixture rows' });
    assert.match(e2e[0], /base \(no training\)/);
    assert.match(e2e[2], /lora\s*8\s*q, v\s*4,096\s*300/);
    assert.match(e2e[2], /2\.900 → 1\.250/);
    assert.match(e2e[3], /full\s*—\s*all weights/);
    assert.ok(!e2e.some((r) => r.includes('8,192')), 'the tiny model\'s row is not shown for nano');
    assert.match(await ref.textContent(), /tests\/browser fixture/);
    // The learner's own runs stay beside them.
    assert.ok(await p.getByTestId('runs-table').count() === 1, 'the learner\'s runs table is still there');
    await screenshot('reference-results', p);
    await p.getByTestId('task').selectOption('reverse');
    const rev = await waitFor(rows, (r) => r.length === 1, { timeout: 5000, message: 'nano/reverse has 1 fixture row' });
    assert.match(rev[0], /62\.5%/);
    await p.getByTestId('task').selectOption('verse');
    await waitFor(() => ref.textContent(), (t) => /No reference runs for nano on verse/.test(t), {
      timeout: 5000, message: 'a task without reference rows says so',
    });
  } finally {
    await p.close();
  }
});

test('without results.json the page shows only the learner\'s runs, without an error', async () => {
  const p = await openWithResults(null);
  try {
    await p.getByTestId('runs-table').waitFor({ state: 'visible', timeout: 30000 });
    assert.equal(await p.getByTestId('reference-results').count(), 0);
    assert.equal(await p.getByTestId('error').count(), 0);
  } finally {
    await p.close();
  }
});

// parseCSV reads RFC 4180 CSV with a header row (run labels hold commas).
function parseCSV(s) {
  const records = [];
  let rec = [], field = '', quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { rec.push(field); field = ''; } else if (ch === '\n') { rec.push(field); records.push(rec); rec = []; field = ''; } else if (ch !== '\r') field += ch;
  }
  if (field || rec.length) { rec.push(field); records.push(rec); }
  const [head, ...rows] = records;
  return rows.map((r) => Object.fromEntries(r.map((v, i) => [head[i], v])));
}

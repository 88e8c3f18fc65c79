// End-to-end test of adaptive rank (AdaLoRA, issue 7 item 5): choose the
// method, set a fast pruning schedule (160 steps of batch 4 on nano/e2e,
// r⁽⁰⁾ = 6 → 2 per matrix, pruning every 2 steps from step 16 to 112), train
// from the panel's button, cancel mid-pruning, play on until every matrix's
// rank has reached the target on the chart, and export a plain PEFT LoRA
// adapter whose rank_pattern holds the charted ranks.
// `./build.sh test-browser` runs it after the other browser tests.
//
// Screenshots go to LP_ARTIFACTS as adaptive-NN-<name>.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { URL_, ART, waitFor, launchChromium } from './harness.mjs';

let browser;

// unzip returns the named entry of a zip archive, reading the central
// directory (Go's archive/zip writes sizes there, not in the local header).
function unzip(b, name) {
  let eocd = b.length - 22;
  while (eocd >= 0 && b.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, 'a zip archive');
  let p = b.readUInt32LE(eocd + 16);
  for (let i = 0; i < b.readUInt16LE(eocd + 10); i++) {
    const method = b.readUInt16LE(p + 10), size = b.readUInt32LE(p + 20);
    const n = b.readUInt16LE(p + 28), extra = b.readUInt16LE(p + 30), comment = b.readUInt16LE(p + 32);
    const local = b.readUInt32LE(p + 42);
    if (b.toString('utf8', p + 46, p + 46 + n) === name) {
      const data = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
      const raw = b.subarray(data, data + size);
      return method === 8 ? zlib.inflateRawSync(raw) : raw;
    }
    p += 46 + n + extra + comment;
  }
  assert.fail(`${name} is not in the archive`);
}

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

test('adaptive rank: ranks fall to the target while training on nano, cancel stops, export carries rank_pattern', async (t) => {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    assert.equal((await page.goto(URL_ + '#steps=160&batch=4', { waitUntil: 'commit' })).status(), 200);
    await page.waitForSelector('html[data-ready="1"]', { timeout: 20000 });
    const byId = (id) => page.getByTestId(id);
    const text = async (id) => ((await byId(id).first().textContent()) ?? '').trim();
    await waitFor(() => page.locator('[data-testid="task"] option').count(), (n) => n > 1, { message: 'the task list never loaded' });

    // The method selector offers adaptive rank; the panel's settings set the schedule.
    await byId('method').selectOption('adaptive');
    assert.ok(await byId('adaptive-hint').isVisible(), 'the settings point to the adaptive panel');
    assert.equal(await byId('rank').count(), 0, 'no fixed-rank slider for adaptive rank');
    await byId('adaptive-r0').fill('6');
    await byId('adaptive-rt').fill('2');
    await byId('adaptive-every').fill('2');
    await byId('adaptive-every').press('Tab'); // a number input commits (change) when it loses focus
    await waitFor(() => page.evaluate(() => location.hash), (h) => /method=adaptive/.test(h) && /r0=6/.test(h) && /rt=2/.test(h) && /every=2/.test(h),
      { timeout: 5000, message: 'the link should carry the adaptive settings' });

    await byId('adaptive-run').click();
    await byId('adaptive-chart').waitFor({ timeout: 60000 });
    // Pruning runs from step 10 (10%) to step 70 (70%): the total rank falls from 4×6 = 24 to 4×2 = 8.
    const total = async () => Number((/Total rank (\d+)/.exec(await text('adaptive-summary')) ?? [])[1]);
    const steps = async () => Number.parseInt(await text('step-count'), 10);
    const seen = new Set();
    const watch = async () => { const n = await total(); seen.add(n); return n; };

    // Cancel once pruning has begun (it runs from step 16 to 112 of 160): training pauses and the
    // ranks reached so far stay on the chart.
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="step-count"]')?.textContent) >= 30, null, { timeout: 90000, polling: 50 });
    await byId('adaptive-cancel').click();
    await waitFor(() => byId('train').getAttribute('aria-pressed'), (v) => v === 'false', { timeout: 10000, message: 'cancel should pause' });
    const paused = await waitFor(async () => { const a = await steps(); await new Promise((r) => setTimeout(r, 700)); return [a, await steps()]; },
      ([a, b]) => a === b, { timeout: 10000, message: 'steps kept growing after cancel' });
    assert.ok(paused[0] < 160, `cancelled before the end of the schedule (step ${paused[0]})`);
    await watch();

    // Play on (the toolbar's button) to the end: the total rank reaches the target 8 at step 112,
    // and play stops at step 160.
    await byId('train').click();
    await waitFor(watch, (n) => n === 8, { timeout: 120000, interval: 250, message: 'the total rank should reach the target 8' });
    t.diagnostic(`total ranks seen: ${[...seen].sort((a, b) => b - a).join(' ')}; cancelled at step ${paused[0]}`);
    const legend = await byId('adaptive-chart').locator('text').allTextContents();
    const ranks = legend.filter((s) => /_proj {2}r=\d+$/.test(s)).map((s) => Number(s.split('r=')[1]));
    assert.equal(ranks.length, 4, `one legend entry per matrix: ${legend}`);
    assert.equal(ranks.reduce((a, b) => a + b, 0), 8);
    // The ranks fell over several pruning steps, not at once: some matrix's staircase has at least
    // three stairs (each stair is a drop and a run: 2 points; the first starts with M).
    const points = (await byId('adaptive-chart').locator('path').evaluateAll((ps) => ps.map((p) => (p.getAttribute('d').match(/[ML]/g) || []).length)));
    assert.ok(Math.max(...points) >= 6, `staircase points per matrix: ${points}`);
    fs.writeFileSync(path.join(ART, 'adaptive-01-ranks.png'), await page.locator('[data-testid="adaptive-panel"]').screenshot());

    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), byId('adaptive-export').click()]);
    assert.match(dl.suggestedFilename(), /adaptive.*\.zip$/);
    const file = path.join(ART, dl.suggestedFilename());
    await dl.saveAs(file);
    const cfg = JSON.parse(unzip(fs.readFileSync(file), 'adapter_config.json').toString('utf8'));
    assert.equal(cfg.peft_type, 'LORA');
    const pattern = Object.values(cfg.rank_pattern);
    assert.equal(pattern.length, 4, JSON.stringify(cfg.rank_pattern));
    assert.deepEqual(pattern.sort(), ranks.map((r) => Math.max(r, 1)).sort(), 'rank_pattern holds the charted ranks (0 exports as 1)');
    assert.match(await text('adaptive-rank-pattern'), /^rank_pattern = \{/);
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await ctx.close();
  }
});

// End-to-end test of the "Lessons from the paper" panels (ui/app/lessons.vugu):
// train a few steps, measure the amplification factor, export the adapter
// and import it back as the second adapter B, draw the φ grid, and blend.
// Kept short (one page, nano, a few steps): it checks the wiring from the
// buttons through the worker to the drawn results, not the numbers, which
// core/analysis and wasm/trainer test natively.
//
// Screenshots go to LP_ARTIFACTS as analysis-NN-<name>.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { URL_, ART, waitFor, screenshots, launchChromium } from './harness.mjs';

let browser;

const screenshot = screenshots('analysis-');

before(async () => {
  browser = await launchChromium();
});

after(async () => { await browser?.close(); });

test('amplification shows a number; an imported adapter gives a drawn φ grid; a blend samples', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  try {
    const byId = (id) => page.getByTestId(id);
    const text = async (id) => ((await byId(id).first().textContent()) ?? '').trim();
    assert.equal((await page.goto(URL_ + '#model=nano&task=e2e', { waitUntil: 'commit' })).status(), 200);
    await page.waitForSelector('html[data-ready="1"]', { timeout: 20000 });
    await waitFor(() => page.locator('section.toolbar [role="status"].status').textContent(), (s) => /ready/.test(s ?? ''), {
      timeout: 30000, message: 'the trainer never became ready',
    });
    // A few steps, so that ΔW is not zero, then pause.
    await byId('train').click();
    await waitFor(async () => Number.parseInt(await text('step-count'), 10), (n) => n >= 2, { timeout: 60000, message: 'steps' });
    await byId('train').click();
    await waitFor(() => byId('train').getAttribute('aria-pressed'), (v) => v === 'false', { timeout: 5000, message: 'pause' });

    await byId('run-amplify').click();
    const factors = await waitFor(() => page.getByTestId('amplify-factor').allTextContents(), (v) => v.length > 0, {
      timeout: 20000, message: 'the amplification table never appeared',
    });
    for (const f of factors) assert.ok(Number.parseFloat(f) > 0, `amplification factor ${f} is a positive number`);
    assert.equal(await byId('analysis-error').count(), 0);

    // Export the adapter and import it as B.
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), byId('export').click()]);
    const zip = path.join(ART, 'analysis-adapter.zip');
    await dl.saveAs(zip);
    await byId('import-other').setInputFiles(zip);
    await waitFor(() => byId('other-adapter').count(), (n) => n > 0, { timeout: 10000, message: 'B was never loaded' });
    assert.match(await text('other-adapter'), /imported/);

    await byId('run-subspace').click();
    await byId('phi-grid').waitFor({ state: 'visible', timeout: 10000 });
    // The canvas holds the grid: r×r pixels, painted (φ = 1 everywhere for
    // an adapter against itself: no pixel is left transparent).
    const painted = await waitFor(() => page.evaluate(() => {
      const c = document.querySelector('[data-testid="phi-grid"]');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return { w: c.width, h: c.height, n };
    }), (v) => v.n > 0 && v.n === v.w * v.h, { timeout: 10000, message: 'the φ grid was not drawn' });
    assert.equal(painted.w, painted.h, 'A against itself: a square grid');
    assert.match(await text('phi-top'), /φ\(1,1\) = 1\.00/);
    await screenshot(page, 'phi-grid');

    await byId('run-combine').click();
    await waitFor(() => byId('combine-sample').count().then((n) => (n ? text('combine-sample') : '')), (s) => s.length > 0, {
      timeout: 20000, message: 'the blend never sampled',
    });
    assert.match(await text('combine-error'), /rank/);
    await screenshot(page, 'combine');
  } finally {
    await ctx.close();
  }
});

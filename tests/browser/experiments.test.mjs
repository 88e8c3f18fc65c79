// End-to-end test of the experiments panel (the LoRA paper's Tables 5 and
// 6, ui/app/experiment-panel.vugu): a rank sweep runs in a worker of its
// own with progress, cancel keeps the runs that finished, and the learner's
// own run is untouched. `./build.sh test-browser` runs it after the other
// browser tests against the same served dist/.
//
// Screenshots go to LP_ARTIFACTS as experiments-NN-<name>.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { URL_, waitFor, screenshots, launchChromium } from './harness.mjs';

let browser;

const screenshot = screenshots('experiments-');

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

test('a rank sweep runs beside the learner\'s run, reports progress, and cancel keeps the finished runs', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  try {
    const res = await page.goto(URL_, { waitUntil: 'commit' });
    assert.equal(res.status(), 200);
    await page.waitForSelector('html[data-ready="1"]', { timeout: 20000 });
    const byId = (id) => page.getByTestId(id);
    const text = async (id) => ((await byId(id).first().textContent()) ?? '').trim();
    await waitFor(() => page.locator('section.toolbar [role="status"].status').textContent(), (s) => /ready/.test(s ?? ''), {
      timeout: 30000, message: 'the trainer never became ready',
    });
    // The learner's run: a few steps, then paused.
    await byId('step').click();
    await waitFor(() => text('step-count'), (s) => s === '1', { timeout: 30000, message: 'one step' });
    const before = await text('train-loss');

    await byId('exp-tab-ranks').click();
    // The paper's Table 6 numbers are there before anything runs.
    assert.match(await text('exp-table'), /73\.4/);
    await byId('exp-steps').fill('10');
    await byId('exp-steps').blur();
    await byId('exp-run').click();
    const progress = await waitFor(() => text('exp-progress'), (s) => /run 2 of 8/.test(s), {
      timeout: 60000, interval: 200, message: 'the sweep should reach its second run',
    });
    assert.match(progress, /W_q,W_v r=2/);
    assert.ok(await byId('exp-cancel').isVisible(), 'cancel is offered while it runs');
    await screenshot(page, 'sweep-running');
    await byId('exp-cancel').click();
    const done = await waitFor(() => text('exp-progress'), (s) => /cancelled/.test(s), {
      timeout: 10000, message: 'cancel should stop the sweep',
    });
    const m = /cancelled: (\d+) of 8 runs finished/.exec(done);
    assert.ok(m && Number(m[1]) >= 1, `finished runs are kept: ${done}`);
    // The first run's loss is in the table and on the chart.
    assert.match(await text('exp-table'), /W_q,W_v\s*1\s*512\s*\d\.\d{3}/);
    assert.equal(await byId('exp-chart').locator('svg circle').count(), Number(m[1]));
    assert.ok(!(await byId('exp-cancel').isVisible()), 'no cancel once stopped');
    // The learner's run is as it was.
    assert.equal(await text('step-count'), '1');
    assert.equal(await text('train-loss'), before);
    await screenshot(page, 'sweep-cancelled');
  } finally {
    await ctx.close();
  }
});

// End-to-end tests of the playground's controls beyond playground.test.mjs:
// "your own text" (paste, upload, unknown characters, the 2 MB limit), the
// shareable link, classroom mode and keyboard use. `./build.sh test-browser`
// runs this file after playground.test.mjs against the same served dist/.
//
// Each test opens its own browser context (empty IndexedDB), as a learner
// opening a link on another machine would, so no test depends on another's
// saved run. Elements are found by the data-testid contract of issue 4.
//
// Screenshots go to LP_ARTIFACTS as controls-NN-<name>.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { URL_, waitFor, screenshots, launchChromium } from './harness.mjs';

const MAX_CUSTOM_BYTES = 2 << 20; // wasm/protocol.MaxCustomBytes

let browser;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Page helpers bound to one page.
function on(page) {
  const byId = (id) => page.getByTestId(id);
  const text = async (id) => ((await byId(id).first().textContent()) ?? '').trim();
  const h = {
    byId,
    text,
    stepCount: async () => Number.parseInt(await text('step-count'), 10),
    status: async () => ((await page.locator('section.toolbar [role="status"].status').textContent()) ?? '').trim(),
    error: async () => ((await byId('error').count()) ? text('error') : ''),
    // restart is the "needs a reset" notice, '' while hidden.
    restart: async () => ((await byId('restart-needed').isVisible()) ? text('restart-needed') : ''),
    ready: () => waitFor(h.status, (s) => /ready/.test(s), { timeout: 30000, message: 'the trainer never became ready' }),
    pressed: (want) => waitFor(() => byId('train').getAttribute('aria-pressed'), (v) => v === want, {
      timeout: 5000, message: `play button aria-pressed should become ${want}`,
    }),
    // stepsGrow waits until the count passes from+n.
    stepsGrow: (from, n = 3) => waitFor(h.stepCount, (s) => s >= from + n, {
      timeout: 60000, interval: 200, message: `step count should grow past ${from + n}`,
    }),
    // stopped waits until two reads 700 ms apart agree.
    stopped: () => waitFor(async () => { const a = await h.stepCount(); await sleep(700); return [a, await h.stepCount()]; },
      ([a, b]) => a === b, { timeout: 10000, message: 'step count kept growing after pause' }).then(([, b]) => b),
  };
  return h;
}

async function openPage(hash = '') {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  page.on('console', (m) => { if (m.type() === 'error') console.error('console error:', m.text()); });
  const res = await page.goto(URL_ + hash, { waitUntil: 'commit' });
  assert.equal(res.status(), 200);
  await page.waitForSelector('html[data-ready="1"]', { timeout: 20000 });
  await page.getByTestId('train').waitFor({ state: 'visible', timeout: 20000 });
  // The catalogue has loaded when the task list holds the shipped tasks.
  await waitFor(() => page.locator('[data-testid="task"] option').count(), (n) => n > 1, {
    timeout: 30000, message: 'the task list never loaded',
  });
  return page;
}

const screenshot = screenshots('controls-');

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

// A few lines of prose with characters outside the models' vocabulary
// (printable ASCII and newline): é, ï, and the em dash.
const PASTED = Array.from({ length: 24 }, (_, i) =>
  `Line ${i}: the café light — naïve rays bend at the prism and part into colours.`).join('\n') + '\n';
const UPLOADED = Array.from({ length: 24 }, (_, i) =>
  `Row ${i}: Straße and smørrebrød, a plain upload of light and shade.`).join('\n') + '\n';

test('your own text: unknown characters are reported, it trains, an upload works, 2 MB+ is refused', async () => {
  const page = await openPage();
  const p = on(page);
  try {
    await p.ready();
    await p.byId('task').selectOption('custom');
    const area = p.byId('custom-text');
    await area.waitFor({ state: 'visible', timeout: 5000 });
    await area.fill(PASTED);
    await area.blur(); // the textarea applies on change
    assert.equal(await p.error(), '');
    // The text goes to the worker with the first play.
    await p.byId('train').click();
    await p.pressed('true');
    // The report stays beside the text box (the status line moves on to
    // the training speed within a fraction of a second).
    const unk = await waitFor(() => p.byId('custom-unknown').count().then((n) => (n ? p.text('custom-unknown') : '')),
      (s) => /outside the model's vocabulary/i.test(s), {
        timeout: 30000, message: 'the page should report the characters outside the vocabulary beside the text',
      });
    for (const ch of ['é', 'ï', '—']) assert.ok(unk.includes(ch), `the report names ${ch}: ${unk}`);
    const s1 = await p.stepsGrow(0, 5);
    assert.ok(Number.isFinite(Number.parseFloat(await p.text('train-loss'))), 'a training loss is shown');
    await screenshot(page, 'custom-text-training');
    await p.byId('train').click();
    await p.pressed('false');
    const paused = await p.stopped();
    assert.ok(paused >= s1);

    // Upload a .txt: after steps it waits for reset, which says so.
    await p.byId('custom-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(UPLOADED) });
    await waitFor(() => area.inputValue(), (v) => v === UPLOADED, { timeout: 10000, message: 'the uploaded text should fill the text box' });
    await waitFor(p.restart, (t) => /your text/.test(t), {
      timeout: 5000, message: 'changing the text after training should say that it needs a restart',
    });
    await p.byId('reset').click();
    const unk2 = await waitFor(() => p.byId('custom-unknown').count().then((n) => (n ? p.text('custom-unknown') : '')),
      (s) => s.includes('ß'), { timeout: 30000, message: 'the uploaded text\'s unknown characters should be reported' });
    assert.ok(unk2.includes('ø') && !unk2.includes('é'), `the report is about the upload: ${unk2}`);
    assert.equal(await p.stepCount(), 0, 'reset starts a new run');
    await p.byId('train').click();
    await p.pressed('true');
    await p.stepsGrow(0, 3);
    await p.byId('train').click();
    await p.pressed('false');
    const kept = await p.stopped();
    const lossKept = await p.text('train-loss');

    // An oversized upload is refused and the run trained so far is kept.
    const big = Buffer.alloc(MAX_CUSTOM_BYTES + 64 * 1024, 'light and shade\n');
    await p.byId('custom-file').setInputFiles({ name: 'big.txt', mimeType: 'text/plain', buffer: big });
    const refused = async (what) => {
      const err = await waitFor(p.error, (e) => e !== '', { timeout: 15000, message: `${what} over 2 MB should be refused with a message` });
      assert.match(err, /at most 2\.0 MB/, `the message gives the limit: ${err}`);
      assert.equal(await p.stepCount(), kept, `after ${what}: the previous run keeps its steps`);
      assert.equal(await p.text('train-loss'), lossKept, `after ${what}: the previous run keeps its loss`);
      assert.equal(await p.restart(), '', `after ${what}: nothing waits for a restart`);
      assert.equal(await area.inputValue(), UPLOADED, `after ${what}: the text box keeps the previous text`);
    };
    await refused('an upload');
    // A paste of the same size is refused the same way.
    // (locator.fill types 2 MB too slowly: set the value and fire the events a paste and leaving the box do.)
    await area.evaluate((el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); el.dispatchEvent(new Event('change', { bubbles: true })); }, big.toString('utf8'));
    await waitFor(() => area.inputValue().then((v) => v.length), (n) => n === UPLOADED.length, {
      timeout: 10000, message: 'the oversized paste should be replaced by the previous text',
    });
    await refused('a paste');
    await screenshot(page, 'custom-text-oversized');
    // ... and it still trains from where it was.
    await p.byId('train').click();
    await p.stepsGrow(kept, 2);
    await p.byId('train').click();
    await p.pressed('false');
  } finally {
    await page.context().close();
  }
});

test('a shared link opens with the same rank, α, targets and learning rate', async () => {
  const page = await openPage();
  const p = on(page);
  let other;
  try {
    await p.byId('rank').fill('4');
    await p.byId('alpha').fill('32');
    await p.byId('alpha').blur();
    await p.byId('target-k_proj').check();
    await p.byId('target-v_proj').uncheck();
    await p.byId('lr').fill('0.003');
    await p.byId('lr').blur();
    const hash = await waitFor(() => page.evaluate(() => location.hash), (h) => /lr=0\.003/.test(h), {
      timeout: 5000, message: 'the link should follow the learning rate',
    });
    for (const kv of ['r=4', 'alpha=32', 'targets=q_proj%2Ck_proj', 'lr=0.003']) {
      assert.ok(hash.slice(1).split('&').includes(kv), `the link ${hash} holds ${kv}`);
    }
    other = await openPage(hash); // a fresh browser context: nothing saved
    const q = on(other);
    assert.equal(await q.byId('rank').inputValue(), '4');
    assert.equal(await q.byId('alpha').inputValue(), '32');
    assert.equal(Number(await q.byId('lr').inputValue()), 0.003);
    assert.equal(await q.byId('target-q_proj').isChecked(), true);
    assert.equal(await q.byId('target-k_proj').isChecked(), true);
    assert.equal(await q.byId('target-v_proj').isChecked(), false);
    for (const m of ['o_proj', 'up_proj', 'down_proj']) assert.equal(await q.byId(`target-${m}`).isChecked(), false, m);
    assert.equal(await q.byId('params-trainable').textContent(), await p.byId('params-trainable').textContent(),
      'both pages count the same trainable parameters');
    assert.equal(await other.evaluate(() => location.hash), hash, 'the opened page keeps the link');
    await screenshot(other, 'shared-link');
  } finally {
    await other?.context().close();
    await page.context().close();
  }
});

test('classroom mode: a link with hide= hides those controls and only those', async () => {
  const page = await openPage('#hide=method,targets,lr');
  const p = on(page);
  try {
    for (const id of ['method', 'lr', 'target-q_proj', 'target-v_proj']) {
      assert.equal(await p.byId(id).count(), 0, `${id} is hidden`);
    }
    for (const id of ['rank', 'alpha', 'task', 'model', 'batch', 'seed']) {
      assert.ok(await p.byId(id).isVisible(), `${id} is still shown`);
    }
    // The rank slider still moves, and the page still counts parameters.
    await p.byId('rank').fill('2');
    await waitFor(() => p.text('params-gpt3-trainable'), (v) => v === '9.4M', { timeout: 5000, message: 'r=2 on q,v gives 9.4M on GPT-3' });
    // Ticking another control in the share panel hides it too and extends the link.
    await page.locator('details.share summary').click();
    assert.equal(await p.byId('hide-lr').isChecked(), true, 'the share panel shows lr as hidden');
    await p.byId('hide-alpha').check();
    await waitFor(() => p.byId('alpha').count(), (n) => n === 0, { timeout: 5000, message: 'ticking hide-alpha hides α' });
    const hash = await page.evaluate(() => location.hash);
    assert.ok(hash.includes('hide=method%2Calpha%2Ctargets%2Clr'), `the link lists the hidden controls in order: ${hash}`);
    await screenshot(page, 'classroom');
  } finally {
    await page.context().close();
  }
});

test('keyboard: Tab reaches play, Space and Enter toggle training, arrows move the rank', async () => {
  const page = await openPage();
  const p = on(page);
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName);
  // tabTo presses Tab until the element with testid has focus (at most max presses).
  const tabTo = async (testid, max = 40) => {
    const seen = [];
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab');
      const f = await focused();
      seen.push(f);
      if (f === testid) return i + 1;
    }
    assert.fail(`Tab never reached ${testid} in ${max} presses: ${seen.join(' → ')}`);
  };
  try {
    await p.ready();
    const presses = await tabTo('train');
    await page.keyboard.press('Space');
    await p.pressed('true');
    const s1 = await p.stepsGrow(0, 5);
    assert.equal(await focused(), 'train', 'focus stays on the play button while training');
    await page.keyboard.press('Enter');
    await p.pressed('false');
    const s2 = await p.stopped();
    assert.ok(s2 >= s1, `steps ${s1} → ${s2}`);
    await sleep(500);
    assert.equal(await p.stepCount(), s2, 'Enter paused training');
    await page.keyboard.press('Enter');
    await p.pressed('true');
    await p.stepsGrow(s2, 2);
    await page.keyboard.press('Space');
    await p.pressed('false');
    await p.stopped();

    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await tabTo('rank');
    assert.equal(await p.byId('rank').inputValue(), '8');
    await page.keyboard.press('ArrowRight');
    await waitFor(() => p.byId('rank').inputValue(), (v) => v === '9', { timeout: 5000, message: 'ArrowRight should raise r to 9' });
    await sleep(300);
    assert.equal(await focused(), 'rank', 'the rank slider keeps focus after it changed');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await waitFor(() => page.evaluate(() => location.hash), (h) => h.includes('r=6'), { timeout: 5000, message: 'three ArrowLefts should give r=6 in the link' });
    assert.equal(await p.byId('rank').inputValue(), '6');
    assert.match(await page.locator('label[for="ctl-rank"] output').textContent(), /^6$/);
    // The run has trained, so a new rank waits for reset and the page says so.
    await waitFor(p.restart, (t) => /rank/.test(t), {
      timeout: 5000, message: 'a new rank after training should say that it needs a reset',
    });
    await screenshot(page, 'keyboard');
    console.log(`# Tab presses to reach play: ${presses}`);
  } finally {
    await page.context().close();
  }
});

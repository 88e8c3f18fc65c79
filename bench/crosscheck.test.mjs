// Cross-check of our training step against an independent implementation:
// the same model, batches, LoRA initialisation and AdamW in TensorFlow.js
// (tfjs-lora.mjs, gradients by tfjs's autodiff) must reproduce the losses and
// gradient norms our Go trainer recorded (bench/fixture), step by step, to
// float32 accuracy, and end with the same adapters.
//
//   (cd bench && npm ci) && node --test bench/crosscheck.test.mjs
//
// The fixtures are made fresh by `go run ./bench/fixture` (so they follow
// any change to our engine); LP_FIXTURE_DIR keeps them in that folder instead
// of a temporary one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { wasmTF, loadFixture, benchDir } from './node-setup.mjs';
import { buildLoRAModel } from './tfjs-lora.mjs';

const root = path.dirname(benchDir);

// Tolerances, float32 against float32 with different summation orders (ours
// sums the loss and the gradient norm in float64, tfjs in float32). Measured
// differences are ~3e-7 in the step-0 loss and ≤ 5e-6 after updates; a wrong
// mask, scale, LayerNorm or optimiser term moves the loss by 1e-3 or more.
const tol = {
  loss0: 1e-5, // |Δ loss| on step 0 (forward pass only: B = 0)
  loss: 5e-5, // |Δ loss| after 1–3 AdamW updates (backward pass and optimiser too)
  gradNorm: 1e-4, // relative Δ of the gradient norm before clipping
  adapter: 1e-4, // max |Δ| of A and B after the last update (lr 1e-2)
};

const fixtures = [
  // lora bench's reference: random GPT-2 init, random text (every target counts).
  { name: 'reference (lora bench)', args: [] },
  // a pretrained model on a prompt/completion task: loss masking, trained
  // attention, and gradient norms above the clip.
  { name: 'models-tiny/tiny on reverse', args: ['--model', 'models-tiny/tiny', '--data', 'assets/datasets/reverse'] },
];

const tmp = process.env.LP_FIXTURE_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'lp-fixture-'));
if (!process.env.LP_FIXTURE_DIR) after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const tf = await wasmTF();

test('tfjs runs on its wasm backend with SIMD, one thread', async () => {
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(tf.version.tfjs, '4.22.0');
  assert.equal(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), true);
  assert.equal(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'), false);
});

// Each fixture is checked with tfjs's own gradients of the frozen layers;
// the reference one also with the hand-written ones the benchmark's "tuned"
// column times (they touch only those products, so one fixture suffices).
fixtures.forEach((f, i) => (i === 0 ? ['autodiff', 'tuned'] : ['autodiff']).forEach((variant) => {
  test(`tfjs (${variant}) reproduces our training steps: ${f.name}`, async (t) => {
    const dir = path.join(tmp, `fixture-${i}`);
    if (!fs.existsSync(path.join(dir, 'fixture.json'))) {
      execFileSync('go', ['run', './bench/fixture', '--out', dir, ...f.args], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    }
    const { fx, base, init, final } = loadFixture(dir);
    assert.ok(fx.steps.length >= 2, 'the fixture needs at least two steps');
    const m = buildLoRAModel(tf, fx, base, init, { variant });
    assert.equal(m.variant, variant);
    const theirs = fx.steps.map((s) => m.step(s, s.lr));

    await t.test('step-0 loss (forward pass)', () => {
      const d = theirs[0].loss - fx.steps[0].loss;
      t.diagnostic(`step 0 loss: ours ${fx.steps[0].loss.toFixed(7)}, tfjs ${theirs[0].loss.toFixed(7)}, Δ ${d.toExponential(2)}`);
      assert.ok(Math.abs(d) <= tol.loss0, `step 0: ours ${fx.steps[0].loss}, tfjs ${theirs[0].loss}`);
    });
    await t.test('losses after each update', () => {
      for (let k = 1; k < fx.steps.length; k++) {
        const d = theirs[k].loss - fx.steps[k].loss;
        assert.ok(Math.abs(d) <= tol.loss, `after ${k} updates: ours ${fx.steps[k].loss}, tfjs ${theirs[k].loss}`);
      }
    });
    await t.test('gradient norms (backward pass)', () => {
      fx.steps.forEach((s, k) => {
        const rel = Math.abs(theirs[k].gradNorm / s.grad_norm - 1);
        assert.ok(rel <= tol.gradNorm, `step ${k}: ours ${s.grad_norm}, tfjs ${theirs[k].gradNorm}`);
      });
    });
    await t.test('adapters after the last update', () => {
      let worst = 0, where = '';
      for (const [name, v] of m.adapterValues()) {
        const want = final.get(name);
        assert.ok(want, `adapter_final.safetensors lacks ${name}`);
        assert.equal(v.length, want.data.length, name);
        for (let j = 0; j < v.length; j++) {
          const d = Math.abs(v[j] - want.data[j]);
          if (d > worst) { worst = d; where = `${name}[${j}]`; }
        }
      }
      t.diagnostic(`max |Δ| of A and B after ${fx.steps.length} steps: ${worst.toExponential(2)} at ${where}`);
      assert.ok(worst <= tol.adapter, `adapters differ by ${worst} at ${where}`);
    });
  });
}));

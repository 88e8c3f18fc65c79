// Times the TensorFlow.js LoRA step in node (wasm backend, SIMD, one
// thread) on a fixture of `go run ./bench/fixture`, the counterpart of
// `lora bench`:
//
//   node bench/tfjs-bench.mjs FIXTURE_DIR [--steps 30] [--warmup-steps 5] [--json]
//                             [--variant autodiff|tuned] [--profile-steps N]
//
// --variant picks how the frozen layers' gradients are computed (see
// tfjs-lora.mjs): tfjs's autodiff (the default) or hand-written.
//
// --profile-steps N then runs N more steps under tf.profile and prints where
// tfjs spends a step: milliseconds per kernel, matmuls split by shape.
import { parseArgs } from 'node:util';
import { wasmTF, loadFixture } from './node-setup.mjs';
import { buildLoRAModel, benchSteps } from './tfjs-lora.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { steps: { type: 'string', default: '30' }, 'warmup-steps': { type: 'string', default: '5' }, json: { type: 'boolean', default: false },
    'profile-steps': { type: 'string', default: '0' }, variant: { type: 'string', default: 'autodiff' } },
});
if (positionals.length !== 1) {
  console.error('usage: node bench/tfjs-bench.mjs FIXTURE_DIR [--steps N] [--warmup-steps N] [--json]');
  process.exit(2);
}
const tf = await wasmTF();
const { fx, base, init } = loadFixture(positionals[0]);
const model = buildLoRAModel(tf, fx, base, init, { variant: values.variant });
const r = benchSteps(model, fx, { steps: Number(values.steps), warmup: Number(values['warmup-steps']) });
const rep = { runtime: `node ${process.versions.node} tfjs ${tf.version.tfjs} ${tf.getBackend()} ${values.variant}`, batch: fx.batch, seq: fx.seq_len, ...r };
console.log(values.json ? JSON.stringify(rep) : `${rep.runtime}: ${r.ms_per_step.toFixed(1)} ms/step, ${r.tokens_per_sec.toFixed(0)} tokens/s`);

const profSteps = Number(values['profile-steps']);
if (profSteps > 0) {
  const byKernel = new Map();
  let total = 0;
  for (let i = 0; i < profSteps; i++) {
    const p = await tf.profile(() => { model.step(fx.steps[i % fx.steps.length], fx.steps[0].lr); });
    for (const k of p.kernels) {
      const key = k.name === 'BatchMatMul' ? `BatchMatMul ${k.inputShapes.map((s) => s.join('×')).join(' · ')}` : k.name;
      const e = byKernel.get(key) || { ms: 0, calls: 0 };
      e.ms += k.kernelTimeMs / profSteps;
      e.calls += 1 / profSteps;
      byKernel.set(key, e);
      total += k.kernelTimeMs / profSteps;
    }
  }
  console.log(`tfjs kernels, ms per step (mean of ${profSteps} profiled steps; total ${total.toFixed(1)} ms):`);
  for (const [k, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 16)) {
    console.log(`  ${k.padEnd(44)} ${e.ms.toFixed(2).padStart(8)} ms ${(100 * e.ms / total).toFixed(1).padStart(5)}%  ${e.calls.toFixed(0).padStart(4)} calls`);
  }
}

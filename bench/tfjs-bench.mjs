// Times the TensorFlow.js LoRA step in node (wasm backend, SIMD, one
// thread) on a fixture of `go run ./bench/fixture`, the counterpart of
// `lora bench`:
//
//   node bench/tfjs-bench.mjs FIXTURE_DIR [--steps 30] [--warmup-steps 5] [--json]
import { parseArgs } from 'node:util';
import { wasmTF, loadFixture } from './node-setup.mjs';
import { buildLoRAModel, benchSteps } from './tfjs-lora.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { steps: { type: 'string', default: '30' }, 'warmup-steps': { type: 'string', default: '5' }, json: { type: 'boolean', default: false } },
});
if (positionals.length !== 1) {
  console.error('usage: node bench/tfjs-bench.mjs FIXTURE_DIR [--steps N] [--warmup-steps N] [--json]');
  process.exit(2);
}
const tf = await wasmTF();
const { fx, base, init } = loadFixture(positionals[0]);
const model = buildLoRAModel(tf, fx, base, init);
const r = benchSteps(model, fx, { steps: Number(values.steps), warmup: Number(values['warmup-steps']) });
const rep = { runtime: `node ${process.versions.node} tfjs ${tf.version.tfjs} ${tf.getBackend()}`, batch: fx.batch, seq: fx.seq_len, ...r };
console.log(values.json ? JSON.stringify(rep) : `${rep.runtime}: ${r.ms_per_step.toFixed(1)} ms/step, ${r.tokens_per_sec.toFixed(0)} tokens/s`);

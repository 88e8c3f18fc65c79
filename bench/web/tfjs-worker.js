// Web Worker: the TensorFlow.js LoRA step (../tfjs-lora.mjs) on tfjs's wasm
// backend, SIMD binary from node_modules, one thread, timed like `lora
// bench`. Message in: {fixture: URL of a bench/fixture folder, steps,
// warmup, variant: 'autodiff' or 'tuned' (see tfjs-lora.mjs)}; message out:
// the timing, or {error}.
'use strict';
importScripts('../node_modules/@tensorflow/tfjs/dist/tf.min.js',
  '../node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js');

self.onmessage = async (e) => {
  const { fixture, steps, warmup, variant = 'autodiff' } = e.data;
  try {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    tf.wasm.setThreadsCount(1);
    const dist = new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', self.location.href).href;
    tf.wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': dist + 'tfjs-backend-wasm.wasm',
      'tfjs-backend-wasm-simd.wasm': dist + 'tfjs-backend-wasm-simd.wasm',
      'tfjs-backend-wasm-threaded-simd.wasm': dist + 'tfjs-backend-wasm-threaded-simd.wasm',
    });
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
    await tf.ready();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    if (!simd) throw new Error('this browser has no wasm SIMD');
    const { buildLoRAModel, benchSteps } = await import('../tfjs-lora.mjs');
    const { parseSafetensors } = await import('../safetensors.mjs');
    const get = async (name) => {
      const r = await fetch(new URL(name, fixture));
      if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
      return r;
    };
    const fx = await (await get('fixture.json')).json();
    const base = parseSafetensors(await (await get('model.safetensors')).arrayBuffer());
    const init = parseSafetensors(await (await get('adapter_init.safetensors')).arrayBuffer());
    const model = buildLoRAModel(tf, fx, base, init, { variant });
    const r = benchSteps(model, fx, { steps, warmup });
    self.postMessage({ runtime: `tfjs ${tf.version.tfjs} ${tf.getBackend()} simd=${simd} ${variant}`, ...r });
  } catch (err) {
    self.postMessage({ error: String((err && err.stack) || err) });
  }
};

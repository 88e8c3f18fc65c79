// TensorFlow.js in node on its WebAssembly backend, as the peer benchmark
// runs it: @tensorflow/tfjs with @tensorflow/tfjs-backend-wasm (never
// tfjs-node, which is native code), the SIMD build of the backend's wasm
// from node_modules, one thread.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseSafetensors } from './safetensors.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** loads tfjs, selects the wasm backend (SIMD, 1 thread) and returns tf */
export async function wasmTF() {
  // tfjs prints a hint to install tfjs-node when it runs in node; we do not want it.
  const warn = console.warn, log = console.log;
  console.warn = console.log = () => {};
  let tf, wasm;
  try {
    tf = require('@tensorflow/tfjs');
    wasm = require('@tensorflow/tfjs-backend-wasm');
  } finally {
    console.warn = warn;
    console.log = log;
  }
  const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasm.setThreadsCount(1);
  wasm.setWasmPaths({
    'tfjs-backend-wasm.wasm': path.join(dist, 'tfjs-backend-wasm.wasm'),
    'tfjs-backend-wasm-simd.wasm': path.join(dist, 'tfjs-backend-wasm-simd.wasm'),
    'tfjs-backend-wasm-threaded-simd.wasm': path.join(dist, 'tfjs-backend-wasm-threaded-simd.wasm'),
  });
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialise');
  await tf.ready();
  if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) throw new Error('tfjs: this node has no wasm SIMD');
  return tf;
}

/** reads a fixture directory written by `go run ./bench/fixture` */
export function loadFixture(dir) {
  const read = (f) => fs.readFileSync(path.join(dir, f));
  return {
    fx: JSON.parse(read('fixture.json')),
    base: parseSafetensors(read('model.safetensors')),
    init: parseSafetensors(read('adapter_init.safetensors')),
    final: parseSafetensors(read('adapter_final.safetensors')),
  };
}

export const benchDir = here;

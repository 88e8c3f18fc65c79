// Runs a js/wasm Go binary built with -tags simd under node, like the Go
// toolchain's go_js_wasm_exec, but also supplying the "kernels" import from
// kernels.wasm (next to this file), instantiated on the Go instance's
// memory. The stock wrapper cannot instantiate such a binary.
//
//   GOOS=js GOARCH=wasm go test -tags simd \
//     -exec "node --stack-size=8192 $PWD/core/kernels/simd/exec.mjs" ./core/kernels/
//   node --stack-size=8192 core/kernels/simd/exec.mjs bin/lora-simd.wasm bench
//
// A binary without the import runs too (the kernels are then not linked),
// so the same wrapper can run the pure-Go build. Environment:
// LORA_KERNELS=path overrides kernels.wasm; GOROOT (default `go env
// GOROOT`) locates wasm_exec.js.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

if (process.argv.length < 3) {
  console.error('usage: node exec.mjs <wasm binary> [arguments]');
  process.exit(1);
}

// What wasm_exec_node.js sets up before loading wasm_exec.js.
globalThis.require = require;
globalThis.fs = fs;
globalThis.path = path;
globalThis.TextEncoder ??= require('node:util').TextEncoder;
globalThis.TextDecoder ??= require('node:util').TextDecoder;
globalThis.performance ??= require('node:perf_hooks').performance;
globalThis.crypto ??= require('node:crypto');
const goroot = process.env.GOROOT || execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim();
require(path.join(goroot, 'lib', 'wasm', 'wasm_exec.js'));

const go = new Go();
go.argv = process.argv.slice(2);
go.env = Object.assign({ TMPDIR: os.tmpdir() }, process.env);
go.exit = process.exit;

// The trampoline: Go's instance imports kernels.<name>, which calls through
// to the kernel instance's export once that exists (it needs Go's memory,
// which exists only after Go's instance does).
const kernelsPath = process.env.LORA_KERNELS || path.join(here, 'kernels.wasm');
const kmod = new WebAssembly.Module(fs.readFileSync(kernelsPath));
const kernels = {};
const trampolines = {};
for (const { name, kind } of WebAssembly.Module.exports(kmod)) {
  if (kind !== 'function') continue;
  trampolines[name] = (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) => kernels[name](a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10);
}
go.importObject.kernels = trampolines;

try {
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(process.argv[2]), go.importObject);
  const kinst = new WebAssembly.Instance(kmod, { env: { memory: instance.exports.mem } });
  Object.assign(kernels, kinst.exports);
  process.on('exit', (code) => { // node exits if no event handler is pending
    if (code === 0 && !go.exited) {
      // deadlock: make Go print its error and stack traces
      go._pendingEvent = { id: 0 };
      go._resume();
    }
  });
  await go.run(instance);
} catch (err) {
  console.error(err);
  process.exit(1);
}

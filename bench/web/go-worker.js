// Web Worker: our `lora bench` (core/cmd/lora built for js/wasm) in the
// browser. Message in: {simd, args}: simd runs go/lora-simd.wasm (built with
// -tags simd) linked to go/kernels.wasm through trampolines, as
// assets/js/worker.js links the trainer; otherwise the pure-Go go/lora.wasm.
// args are the command line after "lora". Message out: {stdout, stderr,
// code} once the program has exited.
'use strict';
importScripts('../go/wasm_exec.js');

self.onmessage = async (e) => {
  const { simd, args } = e.data;
  let stdout = '', stderr = '', code = null;
  const dec = new TextDecoder();
  // wasm_exec.js routes the program's writes through fs.writeSync.
  globalThis.fs.writeSync = (fd, buf) => {
    if (fd === 1) stdout += dec.decode(buf);
    else stderr += dec.decode(buf);
    return buf.length;
  };
  try {
    const go = new Go();
    go.argv = ['lora', ...args];
    go.exit = (c) => { code = c; };
    const compile = async (name) => WebAssembly.compile(await (await fetch('../go/' + name)).arrayBuffer());
    const mod = await compile(simd ? 'lora-simd.wasm' : 'lora.wasm');
    const kernels = {};
    let kmod = null;
    if (simd) {
      kmod = await compile('kernels.wasm');
      go.importObject.kernels = {};
      for (const { name, kind } of WebAssembly.Module.exports(kmod)) {
        if (kind !== 'function') continue;
        go.importObject.kernels[name] = (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) => kernels[name](a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10);
      }
    }
    const instance = await WebAssembly.instantiate(mod, go.importObject);
    if (kmod) Object.assign(kernels, (await WebAssembly.instantiate(kmod, { env: { memory: instance.exports.mem } })).exports);
    await go.run(instance);
    self.postMessage({ stdout, stderr, code });
  } catch (err) {
    self.postMessage({ stdout, stderr: stderr + String((err && err.stack) || err), code: code ?? 1 });
  }
};

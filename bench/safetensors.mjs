// A small safetensors reader (the format of core/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON mapping each tensor name to
// {dtype, shape, data_offsets: [begin, end]} (offsets into the data that
// follows the header), then the data. Only F32 is needed here; anything else,
// or offsets outside the file, is an error naming the tensor.

/**
 * @param {ArrayBuffer|Uint8Array} bytes a whole .safetensors file
 * @returns {Map<string, {shape: number[], data: Float32Array}>}
 */
export function parseSafetensors(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (u8.length < 8) throw new Error(`safetensors: ${u8.length} bytes, too short for a header`);
  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > u8.length) throw new Error(`safetensors: header of ${n} bytes overruns the ${u8.length}-byte file`);
  const header = JSON.parse(new TextDecoder().decode(u8.subarray(8, 8 + n)));
  const base = 8 + n;
  const out = new Map();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (info.dtype !== 'F32') throw new Error(`safetensors: tensor ${name} has dtype ${info.dtype}, want F32`);
    const [begin, end] = info.data_offsets;
    const count = info.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== 4 * count || base + end > u8.length) {
      throw new Error(`safetensors: tensor ${name}: offsets [${begin}, ${end}] do not fit shape ${info.shape} in the file`);
    }
    // Copy: the data of a tensor need not be 4-byte aligned in the file.
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(u8.subarray(base + begin, base + end));
    out.set(name, { shape: info.shape, data });
  }
  return out;
}

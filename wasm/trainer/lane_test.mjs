// Tests of assets/js/lane.js, the shared-memory lanes between the training
// worker and its shards: node --test wasm/trainer/lane_test.mjs (run by
// build.sh test). The end-to-end run with the real trainer is
// node_workers_test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const lanePath = path.resolve(here, '../../assets/js/lane.js');
const require = createRequire(import.meta.url);
const { Lane, Endpoint, newLaneBuffer, NUDGE, available } = require(lanePath);

const bytes = (n, seed) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

// A port that records what was posted and can deliver it to an endpoint.
function port() {
  const sent = [];
  return { sent, postMessage: (m) => sent.push(m) };
}

test('available in node (SharedArrayBuffer and Atomics.wait)', () => {
  assert.equal(available(), true);
});

test('frames come out as they went in, across the end of the ring, many times round', () => {
  const lane = new Lane(newLaneBuffer(256));
  let seed = 0;
  // Sizes that are not multiples of 4 and do not divide 256, so entries
  // straddle the end of the ring at every offset over the run.
  for (let round = 0; round < 500; round++) {
    const sizes = [1, 37, 90, 3].map((n) => (n + round) % 100 + 1);
    const sent = [];
    for (const n of sizes) {
      const b = bytes(n, seed++);
      if (!lane.write(b)) break;
      sent.push(b);
    }
    assert.ok(sent.length >= 2, 'at least two entries fit');
    for (const b of sent) assert.deepEqual(new Uint8Array(lane.read()), b);
    assert.equal(lane.read(), null);
  }
});

test('a full lane refuses an entry, writes nothing, and takes it once read', () => {
  const lane = new Lane(newLaneBuffer(64));
  assert.equal(lane.write(bytes(60, 1)), true); // 4 + 60 = all 64 bytes
  assert.equal(lane.free(), 0);
  assert.equal(lane.write(null), false, 'a nudge fit in a full lane');
  assert.equal(lane.write(bytes(61, 2)), false);
  assert.deepEqual(new Uint8Array(lane.read()), bytes(60, 1));
  assert.equal(lane.read(), null, 'a refused write left something behind');
  assert.equal(lane.write(null), true);
  assert.equal(lane.read(), NUDGE);
});

test('a capacity that is not a power of two is refused', () => {
  assert.throws(() => new Lane(new SharedArrayBuffer(16 + 100)), /power of two/);
});

test('frames and posted messages arrive in the order sent', () => {
  const a2b = newLaneBuffer(128), b2a = newLaneBuffer(128);
  const pa = port();
  const a = new Endpoint(a2b, b2a, pa);
  const b = new Endpoint(b2a, a2b, port());
  a.sendFrame(bytes(8, 1));
  a.post({ json: 'request 1' });
  a.sendFrame(bytes(200, 2)); // larger than the lane: the lane grows (a posted swap)
  a.sendFrame(bytes(12, 3));
  assert.equal(a.frames, 3);
  assert.equal(a.posted, 2);
  assert.equal(a.oversize, 0);
  assert.equal(pa.sent.length, 2);
  assert.ok(a.out.cap >= 2 * 204, `grown lane ${a.out.cap} bytes`);

  assert.deepEqual(new Uint8Array(b.recv(0)), bytes(8, 1));
  // The nudge is read but its message has not been delivered yet.
  assert.equal(b.recv(0), 'wait');
  assert.equal(b.recv(0), 'wait', 'a frame overtook a posted message');
  let woken = 0;
  b.wake = () => woken++;
  for (const m of pa.sent) assert.equal(b.accept(m), true);
  assert.equal(woken, 2);
  assert.deepEqual(b.recv(0), { json: 'request 1' });
  assert.deepEqual(new Uint8Array(b.recv(0)), bytes(200, 2));
  assert.deepEqual(new Uint8Array(b.recv(0)), bytes(12, 3));
  assert.equal(b.recv(0), null);
  assert.equal(b.accept({ json: 'not from a lane' }), false);
});

test('a frame over the largest lane goes by postMessage, in order, and is counted', () => {
  const a2b = newLaneBuffer(64), b2a = newLaneBuffer(64);
  const pa = port();
  const a = new Endpoint(a2b, b2a, pa);
  a.maxCap = 256;
  const b = new Endpoint(b2a, a2b, port());
  a.sendFrame(bytes(100, 1)); // grows the lane to 256
  a.sendFrame(bytes(300, 2)); // over the largest lane: posted
  a.sendFrame(bytes(8, 3));
  assert.equal(a.oversize, 1);
  assert.equal(a.out.cap, 256);
  for (const m of pa.sent) b.accept(m);
  for (const [n, seed] of [[100, 1], [300, 2], [8, 3]]) assert.deepEqual(new Uint8Array(b.recv(0)), bytes(n, seed));
  assert.equal(b.recv(0), null);
});

test('counters that wrap past 2^31 and 2^32 read back every entry', () => {
  for (const start of [0x7fffff00, -16, 0x7ffffff0 | 0, -(2 ** 31) + 8, -4]) {
    const sab = newLaneBuffer(64);
    const h = new Int32Array(sab, 0, 4);
    h[0] = start; h[1] = start;
    const lane = new Lane(sab);
    let seed = 0;
    for (let i = 0; i < 300; i++) {
      const n = (i * 7) % 23 + 1;
      assert.equal(lane.write(bytes(n, seed)), true, `start ${start}, entry ${i}`);
      if (i % 5 === 0) assert.equal(lane.write(null), true);
      assert.deepEqual(new Uint8Array(lane.read()), bytes(n, seed++), `start ${start}, entry ${i}`);
      if (i % 5 === 0) assert.equal(lane.read(), NUDGE);
    }
    assert.equal(lane.read(), null);
    assert.equal(lane.free(), 64);
  }
  // Filled across the wrap (the written count past it, the read count not
  // yet): nothing more fits until it is read.
  for (const start of [0x7fffffe0, -32]) {
    const sab = newLaneBuffer(64);
    const h = new Int32Array(sab, 0, 4);
    h[0] = start; h[1] = start;
    const lane = new Lane(sab);
    assert.equal(lane.write(bytes(60, 9)), true);
    assert.equal(lane.write(null), false, `start ${start}: a nudge fit in a full lane`);
    assert.deepEqual(new Uint8Array(lane.read()), bytes(60, 9));
    assert.equal(lane.free(), 64);
  }
});

test('a parked reader gets a doorbell; one that finds data does not park', () => {
  const a2b = newLaneBuffer(128), b2a = newLaneBuffer(128);
  const pa = port();
  const a = new Endpoint(a2b, b2a, pa);
  const b = new Endpoint(b2a, a2b, port());
  assert.equal(b.park(), true);
  a.sendFrame(bytes(4, 1));
  assert.deepEqual(pa.sent, [{ loraLane: 1, bell: 1 }]);
  a.sendFrame(bytes(4, 2)); // one bell per parking
  assert.equal(pa.sent.length, 1);
  b.unpark();
  assert.equal(b.park(), false, 'parked with data to read');
  assert.deepEqual(new Uint8Array(b.recv(0)), bytes(4, 1));
  assert.deepEqual(new Uint8Array(b.recv(0)), bytes(4, 2));
  let woken = 0;
  b.wake = () => woken++;
  assert.equal(b.accept(pa.sent[0]), true);
  assert.equal(woken, 1);
  assert.equal(b.recv(0), null, 'a doorbell is not a message');
});

test('recv waits in Atomics.wait and wakes on another thread\'s write', async () => {
  const a2b = newLaneBuffer(1 << 16), b2a = newLaneBuffer(1 << 16);
  // The other thread echoes every frame back with its first byte + 1,
  // reading with recv(1000), which blocks in Atomics.wait.
  const src = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { Endpoint } = require(workerData.lanePath);
    const e = new Endpoint(workerData.b2a, workerData.a2b, parentPort);
    parentPort.postMessage('ready');
    for (let i = 0; i < workerData.n; i++) {
      const f = e.recv(1000);
      if (!(f instanceof ArrayBuffer)) throw new Error('got ' + f);
      const b = new Uint8Array(f).slice();
      b[0] = (b[0] + 1) & 255;
      e.sendFrame(b);
    }
  `;
  const n = 200;
  const w = new Worker(src, { eval: true, workerData: { lanePath, a2b, b2a, n } });
  await new Promise((r) => w.once('message', r));
  const a = new Endpoint(a2b, b2a, port());
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const b = bytes(4096, i);
    a.sendFrame(b);
    const f = a.recv(1000);
    assert.ok(f instanceof ArrayBuffer, `round ${i}: ${f}`);
    const got = new Uint8Array(f);
    b[0] = (b[0] + 1) & 255;
    assert.deepEqual(got, b);
  }
  const perRound = (performance.now() - t0) / n;
  await w.terminate();
  // Not a timing test: a round trip must not have fallen back to waiting
  // out recv's 1 s timeout.
  assert.ok(perRound < 500, `${perRound} ms a round trip`);
});

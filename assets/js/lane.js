// Shared-memory lanes between the training worker and its shard workers
// (data-parallel training, wasm/trainer/shards.go).
//
// Why: in lockstep data-parallel training every step ends with the workers
// exchanging gradients, and a postMessage between two workers takes
// 0.5–1.3 ms to be delivered on a loaded 2-core machine: the receiver's
// event loop must run a task for it. With a ~15 ms step that alone costs
// 4–8% of the speed-up. A frame written to a SharedArrayBuffer and
// announced with Atomics.notify wakes a thread blocked in Atomics.wait in
// tens of microseconds.
//
// SharedArrayBuffer exists only in cross-origin isolated pages (served with
// Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy:
// require-corp, as cmd/serve and the edge worker do). Elsewhere — a static
// host that cannot set headers — lanes are not created and everything goes
// by postMessage as before: LoraLanes.available() says which.
//
// A lane is one direction: a ring buffer of entries in a SharedArrayBuffer,
// one writer and one reader.
//
//	header (Int32 ×4): [0] bytes written, [1] bytes read (free-running,
//	                   wrapping at 2^32), [2] 1 while the reader is parked
//	                   in its event loop, [3] unused
//	data (cap bytes, a power of two): entries, 4-byte aligned, each an Int32
//	                   length followed by that many bytes (padded to 4), or
//	                   the length -1 alone: a "nudge", which says that the
//	                   writer's next message went by postMessage instead.
//
// An endpoint (one side of a shard's connection) sends frames into its
// outgoing lane; any other message (request envelopes, errors) goes by
// postMessage, tagged {loraLane: 1, m}, followed by a nudge in the lane. The
// reader keeps postMessage'd messages aside and hands them out only when it
// reaches their nudge, so the two paths make one stream, in the order it
// was sent. A frame larger than the lane makes the writer replace the lane
// with one twice the frame's size: the new buffer goes as a posted
// {loraLaneSwap} message, in order, and the reader switches lanes when it
// reaches it (full fine-tuning's gradients are ~1.7 MiB on tiny; LoRA's
// fit the first lane). Only a frame over MAX_CAP goes by postMessage.
//
// A reader that waits in Atomics.wait cannot receive postMessage, so before
// it waits in its event loop instead it parks: sets [2] and checks the lane
// once more. A writer that finds [2] set clears it and posts a doorbell
// ({loraLane: 1, bell: 1}) to wake the event loop. (Either the reader sees
// the entry or the writer sees the flag: both use sequentially consistent
// Atomics, as in Dekker's algorithm.)
'use strict';

(function (root) {
  const HEADER = 16; // bytes
  const W = 0, R = 1, PARKED = 2;
  const NUDGE = -1;
  // The default lane capacity: LoRA gradient frames are tens of KiB (tiny,
  // r=8 on q,v: 32 KiB); full fine-tuning's of the tiny model are ~1.7 MiB,
  // for which the writer grows its lane (Endpoint.sendFrame).
  const DEFAULT_CAP = 1 << 20;
  // The largest lane a writer makes to fit a frame.
  const MAX_CAP = 1 << 28;

  function available() {
    return typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object' &&
      typeof Atomics.wait === 'function' && root.crossOriginIsolated !== false;
  }

  const pad4 = (n) => (n + 3) & ~3;

  // Lane is one direction over sab (made by newLaneBuffer).
  class Lane {
    constructor(sab) {
      this.h = new Int32Array(sab, 0, 4);
      this.cap = sab.byteLength - HEADER;
      if (this.cap <= 0 || (this.cap & (this.cap - 1)) !== 0) throw new Error('lane: capacity must be a power of two');
      this.u8 = new Uint8Array(sab, HEADER, this.cap);
      this.i32 = new Int32Array(sab, HEADER, this.cap >> 2);
      this.out = new Map(); // byte length → a reused ArrayBuffer for read()
    }

    // free is how many bytes the writer may add now.
    free() {
      return this.cap - ((Atomics.load(this.h, W) - Atomics.load(this.h, R)) | 0);
    }

    // write appends a frame (a Uint8Array), or a nudge when bytes is null.
    // It returns false, writing nothing, when the entry does not fit now.
    // It returns 'bell' when the reader is parked and must be woken.
    write(bytes) {
      const n = bytes ? bytes.length : 0;
      const need = 4 + pad4(n);
      if (need > this.free()) return false;
      const w = Atomics.load(this.h, W);
      const at = (w >>> 0) & (this.cap - 1);
      this.i32[at >> 2] = bytes ? n : NUDGE;
      if (n > 0) {
        const start = (at + 4) & (this.cap - 1);
        const first = Math.min(n, this.cap - start);
        this.u8.set(first === n ? bytes : bytes.subarray(0, first), start);
        if (first < n) this.u8.set(bytes.subarray(first), 0);
      }
      Atomics.store(this.h, W, (w + need) | 0);
      Atomics.notify(this.h, W);
      if (Atomics.load(this.h, PARKED) === 1) {
        Atomics.store(this.h, PARKED, 0);
        return 'bell';
      }
      return true;
    }

    // read takes the next entry: an ArrayBuffer with a frame's bytes (reused
    // by the next read of the same size: the caller copies it at once),
    // NUDGE, or null when the lane is empty.
    read() {
      const r = Atomics.load(this.h, R);
      if (r === Atomics.load(this.h, W)) return null;
      const at = (r >>> 0) & (this.cap - 1);
      const n = this.i32[at >> 2];
      if (n === NUDGE) {
        Atomics.store(this.h, R, (r + 4) | 0);
        Atomics.notify(this.h, R);
        return NUDGE;
      }
      let buf = this.out.get(n);
      if (!buf) {
        if (this.out.size >= 8) this.out.clear(); // sizes of a past configuration
        buf = new ArrayBuffer(n);
        this.out.set(n, buf);
      }
      const dst = new Uint8Array(buf);
      const start = (at + 4) & (this.cap - 1);
      const first = Math.min(n, this.cap - start);
      dst.set(this.u8.subarray(start, start + first));
      if (first < n) dst.set(this.u8.subarray(0, n - first), first);
      Atomics.store(this.h, R, (r + 4 + pad4(n)) | 0);
      Atomics.notify(this.h, R);
      return buf;
    }

    // waitData blocks up to ms while the lane is empty.
    waitData(ms) {
      const w = Atomics.load(this.h, W);
      if (w !== Atomics.load(this.h, R) || ms <= 0) return;
      Atomics.wait(this.h, W, w, ms);
    }

    // readCount is the reader's position, for waitSpace.
    readCount() {
      return Atomics.load(this.h, R);
    }

    // waitSpace blocks up to ms while the reader's position is still r
    // (read before the write that found no room, so that a read in between
    // is not slept through).
    waitSpace(r, ms) {
      Atomics.wait(this.h, R, r, ms);
    }

    // park marks the reader as waiting in its event loop; false (and not
    // parked) when there is something to read after all.
    park() {
      Atomics.store(this.h, PARKED, 1);
      if (Atomics.load(this.h, W) !== Atomics.load(this.h, R)) {
        Atomics.store(this.h, PARKED, 0);
        return false;
      }
      return true;
    }

    unpark() {
      Atomics.store(this.h, PARKED, 0);
    }
  }

  function newLaneBuffer(cap = DEFAULT_CAP) {
    return new SharedArrayBuffer(HEADER + cap);
  }

  // How long a writer waits for room for a nudge before it gives up: only
  // a reader that has stopped reading (hung or dead) makes it wait at all.
  const NUDGE_WAIT_MS = 10000;

  // Endpoint is one side of a connection: it writes to out and reads from
  // in, and port (a Worker, or the worker's global) carries what does not go
  // through the lane. wake() is called when a postMessage'd message or a
  // doorbell arrives, so that whoever waits in the event loop looks again.
  class Endpoint {
    constructor(out, inn, port, wake) {
      this.out = new Lane(out);
      this.in = new Lane(inn);
      this.port = port;
      this.wake = wake || (() => {});
      this.aside = []; // postMessage'd messages, in arrival order
      this.owed = 0; // nudges read whose message is not yet handed out
      this.frames = 0; // frames sent through the lane
      this.posted = 0; // messages sent by postMessage with a nudge
      this.oversize = 0; // frames over maxCap, sent by postMessage
      this.maxCap = MAX_CAP;
    }

    // nudge writes a nudge, waiting for room if it must.
    nudge() {
      for (const t0 = Date.now(); ;) {
        const r = this.out.readCount();
        const ok = this.out.write(null);
        if (ok === 'bell') this.port.postMessage({ loraLane: 1, bell: 1 });
        if (ok) return;
        if (Date.now() - t0 > NUDGE_WAIT_MS) throw new Error('the other worker stopped reading its messages');
        this.out.waitSpace(r, 50);
      }
    }

    // sendFrame sends a frame (an ArrayBuffer or Uint8Array) through the
    // lane, which it first grows if the frame is larger than the lane. When
    // the lane is only too full for it now, or the frame is over maxCap,
    // the frame goes by postMessage (in order all the same).
    sendFrame(buf) {
      const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
      const need = 4 + pad4(bytes.length);
      if (need > this.out.cap && 2 * need <= this.maxCap) {
        let cap = this.out.cap;
        while (cap < 2 * need) cap *= 2;
        const sab = newLaneBuffer(cap);
        this.post({ loraLaneSwap: sab });
        this.out = new Lane(sab);
      }
      const ok = this.out.write(bytes);
      if (ok) {
        this.frames++;
        if (ok === 'bell') this.port.postMessage({ loraLane: 1, bell: 1 });
        return;
      }
      if (need > this.out.cap) this.oversize++;
      const copy = bytes.slice().buffer; // transferred: copied once
      this.post(copy, [copy]);
    }

    // post sends any message by postMessage, in order with the frames: the
    // message, then its nudge (a message that failed to post leaves no
    // nudge behind to wait for).
    post(msg, transfer) {
      this.port.postMessage({ loraLane: 1, m: msg }, transfer || []);
      this.posted++;
      this.nudge();
    }

    // accept takes a message that arrived by postMessage; true if it was
    // this endpoint's (then it is kept aside, or was a doorbell).
    accept(data) {
      if (!data || data.loraLane !== 1) return false;
      if ('m' in data) this.aside.push(data.m);
      this.wake();
      return true;
    }

    // recv returns the next message in the order sent: a frame (an
    // ArrayBuffer, valid until the next recv), a message that came by
    // postMessage (an envelope or an ArrayBuffer), 'wait' when that next
    // message was posted but has not arrived yet (the caller waits in its
    // event loop; accept calls wake), or null when there is nothing after
    // waiting up to ms in Atomics.wait.
    recv(ms) {
      for (let waited = false; ;) {
        if (this.owed > 0) {
          if (this.aside.length === 0) return 'wait';
          this.owed--;
          const m = this.aside.shift();
          if (m && m.loraLaneSwap) { // the writer grew the lane: read the new one from here on
            this.in = new Lane(m.loraLaneSwap);
            continue;
          }
          return m;
        }
        const e = this.in.read();
        if (e === NUDGE) { this.owed++; continue; }
        if (e !== null) return e;
        if (waited || !(ms > 0)) return null;
        this.in.waitData(ms);
        waited = true;
      }
    }

    // park and unpark: see Lane; the endpoint parks its reading side. A
    // lane swap is a posted message, so a parked reader hears of it.
    park() { return this.in.park(); }
    unpark() { this.in.unpark(); }
  }

  const api = { available, newLaneBuffer, Lane, Endpoint, NUDGE, DEFAULT_CAP, MAX_CAP };
  root.LoraLanes = api;
  if (typeof module === 'object' && module.exports) module.exports = api;
})(typeof self !== 'undefined' ? self : globalThis);

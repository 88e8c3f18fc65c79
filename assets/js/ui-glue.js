// Small browser helpers for the playground page's Go (ui.wasm), exposed as
// window.lpGlue. They exist because promises, Blobs and IndexedDB are far
// shorter to write here than through syscall/js; all logic stays in Go.
'use strict';
(function () {
  const DB = 'lora-playground', STORE = 'session', KEY = 'current';

  function openDB() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  // One write at a time, latest wins: a slow disk must not build a queue of
  // stale multi-megabyte states.
  let writing = false, next = null;
  async function flush() {
    if (writing || !next) return;
    writing = true;
    const rec = next; next = null;
    try {
      const db = await openDB();
      await new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, 'readwrite');
        tx.objectStore(STORE).put(rec, KEY);
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
      });
      db.close();
      window.lpLastSave = rec.savedAt; // read by the browser tests
    } catch (e) {
      console.warn('lora-playground: could not save the run:', e);
    } finally {
      writing = false;
      flush();
    }
  }

  function download(name, mime, bytes) {
    const url = URL.createObjectURL(new Blob([bytes], { type: mime }));
    const a = document.createElement('a');
    a.href = url; a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  window.lpGlue = {
    // page: JSON text of the page's half; worker: Uint8Array of the worker's.
    save(page, worker) {
      next = { page, worker: worker.slice().buffer, savedAt: Date.now() };
      flush();
    },
    async load() {
      try {
        const db = await openDB();
        const rec = await new Promise((resolve, reject) => {
          const req = db.transaction(STORE).objectStore(STORE).get(KEY);
          req.onsuccess = () => resolve(req.result || null);
          req.onerror = () => reject(req.error);
        });
        db.close();
        return rec;
      } catch (e) {
        console.warn('lora-playground: no saved run:', e);
        return null;
      }
    },
    async clear() {
      const db = await openDB();
      await new Promise((resolve) => {
        const tx = db.transaction(STORE, 'readwrite');
        tx.objectStore(STORE).delete(KEY);
        tx.oncomplete = resolve;
      });
      db.close();
    },
    async fetchJSON(url) {
      const res = await fetch(url);
      if (!res.ok) throw new Error(url + ': ' + res.status + ' ' + res.statusText);
      return res.text();
    },
    download,
    // Rasterise an SVG string at twice its size for a crisp PNG.
    downloadPNG(name, svg, w, h) {
      const img = new Image();
      const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
      img.onload = () => {
        const c = document.createElement('canvas');
        c.width = 2 * w; c.height = 2 * h;
        const ctx = c.getContext('2d');
        ctx.scale(2, 2);
        ctx.drawImage(img, 0, 0, w, h);
        URL.revokeObjectURL(url);
        c.toBlob((b) => b && b.arrayBuffer().then((ab) => download(name, 'image/png', new Uint8Array(ab))), 'image/png');
      };
      img.src = url;
    },
    ready() {
      document.documentElement.dataset.ready = '1';
      window.lpReadyAt = performance.now();
    },
  };
})();

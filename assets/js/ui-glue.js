// Small browser helpers for the playground page's Go (ui.wasm), exposed as
// window.lpGlue. They exist because promises, Blobs and IndexedDB are far
// shorter to write here than through syscall/js; all logic stays in Go.
'use strict';

// vugu v0.4's DOM writer (domrender's window.vuguRender) re-sends the whole
// page on every render and writes every text node, attribute, property and
// inner HTML whether it changed or not. Each write dirties style and layout
// (and setting a canvas's width, even to its current value, clears it), so
// with ~10 renders a second while training most of the main thread went to
// relayout of a page that had not changed. domrender installs its writer by
// window.eval of a fixed script when it starts; this rewrites six
// statements of that script so that
//   - text, attributes, properties and inner HTML are written only when
//     they differ from what is there;
//   - the value of the focused field is left alone: fields bound with
//     @change hold the learner's typing until they leave the field, and
//     each render used to put the old value back under their fingers;
//   - <details open> survives: the browser sets "open" when the learner
//     expands an explanation, and vugu removed it as an attribute it had not
//     written, closing it again at the next render.
// window.lpVuguPatched is the number of statements rewritten: the page
// (ui/app canvasesKept) and the browser tests read it. If vugu's script
// changes, the patterns stop matching and it runs unpatched, with a warning.
(function () {
  const nativeEval = window.eval;
  const rewrites = [
    // opcodeSetProperty (.value, .checked)
    ['e[t]=JSON.parse(n);break',
      'let v=JSON.parse(n);(typeof v=="object"||e[t]!=v)&&!(t=="value"&&e===document.activeElement)&&(e[t]=v);break'],
    // opcodeSetAttrStr
    ['e.setAttribute(t,n),x.elAttrNames[t]=!0;break', 'e.getAttribute(t)!==n&&e.setAttribute(t,n),x.elAttrNames[t]=!0;break'],
    // opcodeRemoveOtherAttrs
    ['x.elAttrNames[x.el.attributes[t].name]||e.push(x.el.attributes[t].name)',
      'x.elAttrNames[x.el.attributes[t].name]||x.el.attributes[t].name=="open"&&x.el.nodeName=="DETAILS"||e.push(x.el.attributes[t].name)'],
    // opcodeSetText on an existing text node
    ['else x.el.textContent=e;break}case c:', 'else x.el.nodeValue!==e&&(x.el.nodeValue=e);break}case c:'],
    // opcodeSetInnerHTML (vg-html and static text): remember what was set, not what the parser made of it
    ['x.el.innerHTML=(x.bufferedInnerHTML||"")+e,x.bufferedInnerHTML=null;break',
      '{let h=(x.bufferedInnerHTML||"")+e;x.el.lpHTML!==h&&(x.el.innerHTML=h,x.el.lpHTML=h)}x.bufferedInnerHTML=null;break'],
    // opcodeMoveToFirstChild: vugu now writes this element's children itself, so what inner HTML set is void
    ['throw"must have current selection to use opcodeMoveToFirstChild";x.nextElMove="first_child";break',
      'throw"must have current selection to use opcodeMoveToFirstChild";x.el.lpHTML=void 0;x.nextElMove="first_child";break'],
  ];
  window.lpVuguPatched = 0;
  window.eval = function (src) {
    if (typeof src === 'string' && src.includes('window.vuguRender=function')) {
      window.eval = nativeEval;
      let patched = src, n = 0;
      for (const [from, to] of rewrites) {
        if (patched.split(from).length === 2) { patched = patched.replace(from, to); n++; }
      }
      if (n === rewrites.length) {
        src = patched;
        window.lpVuguPatched = n;
      } else {
        console.warn(`lora-playground: vugu's renderer changed (${n}/${rewrites.length} rewrites apply); running it unpatched`);
      }
    }
    return nativeEval(src);
  };
})();

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
    // fetch for the edge API (ui/app share.go): resolves to {status, body:
    // Uint8Array} for any HTTP answer, rejects only when none came.
    async fetchBytes(method, url, contentType, body) {
      const init = { method, cache: 'no-store' };
      if (body) { init.body = body; init.headers = { 'Content-Type': contentType }; }
      const res = await fetch(url, init);
      return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
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

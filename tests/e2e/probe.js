// In-page probe for the cnnwidgets browser tests, injected before JupyterLab loads
// (Playwright add_init_script). It records two things with performance.now():
//   events: every input/change/click on an element inside a [data-testid] (capture phase on
//           window, so a component that stops propagation is still seen);
//   paints: every time an <img> gets a new picture or a <canvas> is drawn, stamped in the
//           requestAnimationFrame callback that precedes the paint showing it, with a content
//           signature (a hash of the picture downscaled to 32x32), so that a repaint of the
//           same picture is not mistaken for a new one.
// The latency of a control change is then "first paint with a new signature after the event",
// measured entirely in the page, free of the Python <-> browser round trips.
(() => {
  if (window.__cw) return;
  const cw = (window.__cw = { events: [], paints: [], paintEls: [] });
  const SIG = 32;

  const testid = (el) => {
    const e = el && el.closest ? el.closest("[data-testid]") : null;
    return e ? e.getAttribute("data-testid") : null;
  };

  for (const type of ["input", "change", "click"]) {
    window.addEventListener(
      type,
      (ev) => cw.events.push({ t: performance.now(), type, testid: testid(ev.target) }),
      true,
    );
  }

  // Our own drawing for signatures must not count as a widget paint.
  const origDrawImage = CanvasRenderingContext2D.prototype.drawImage;
  const origPutImageData = CanvasRenderingContext2D.prototype.putImageData;
  let sigCanvas = null;

  const signature = (el) => {
    try {
      if (!sigCanvas) sigCanvas = document.createElement("canvas");
      sigCanvas.width = SIG;
      sigCanvas.height = SIG;
      const ctx = sigCanvas.getContext("2d", { willReadFrequently: true });
      ctx.clearRect(0, 0, SIG, SIG);
      origDrawImage.call(ctx, el, 0, 0, SIG, SIG);
      const data = ctx.getImageData(0, 0, SIG, SIG).data;
      let h = 0x811c9dc5; // FNV-1a
      for (let i = 0; i < data.length; i++) {
        h ^= data[i];
        h = Math.imul(h, 0x01000193);
      }
      const w = el.naturalWidth || el.width || 0;
      const hh = el.naturalHeight || el.height || 0;
      return `${w}x${hh}:${(h >>> 0).toString(16)}`;
    } catch (e) {
      return "unreadable:" + String(e).slice(0, 60);
    }
  };

  const pending = new WeakSet();
  const record = (el, kind) => {
    // One record per element per frame: an overlay drawn in several calls is one paint.
    if (pending.has(el)) return;
    pending.add(el);
    const queued = performance.now();
    requestAnimationFrame(() => {
      pending.delete(el);
      cw.paints.push({ t: performance.now(), queued, kind, testid: testid(el), sig: signature(el) });
      cw.paintEls.push(el);
    });
  };

  const watchImg = (img) => {
    if (!img.getAttribute("src")) return;
    const src = img.src;
    img
      .decode()
      .then(() => {
        // A newer src may have replaced this one while decoding; only the current one paints.
        if (img.src === src) record(img, "img");
      })
      .catch(() => {});
  };

  CanvasRenderingContext2D.prototype.drawImage = function (...args) {
    const r = origDrawImage.apply(this, args);
    if (this.canvas && this.canvas !== sigCanvas && this.canvas.isConnected) record(this.canvas, "canvas");
    return r;
  };
  CanvasRenderingContext2D.prototype.putImageData = function (...args) {
    const r = origPutImageData.apply(this, args);
    if (this.canvas && this.canvas !== sigCanvas && this.canvas.isConnected) record(this.canvas, "canvas");
    return r;
  };

  const start = () => {
    new MutationObserver((muts) => {
      for (const m of muts) {
        if (m.type === "attributes" && m.target.tagName === "IMG") watchImg(m.target);
        for (const n of m.addedNodes || []) {
          if (n.nodeType !== 1) continue;
          if (n.tagName === "IMG") watchImg(n);
          else for (const img of n.querySelectorAll("img")) watchImg(img);
        }
      }
    }).observe(document.documentElement, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["src"],
    });
  };
  if (document.documentElement) start();
  else document.addEventListener("DOMContentLoaded", start);

  // Paints of `root` or anything inside it, after time `since` (ms, performance.now()).
  cw.paintsIn = (root, since) => {
    const out = [];
    for (let i = 0; i < cw.paints.length; i++) {
      const el = cw.paintEls[i];
      if (cw.paints[i].t > since && (el === root || root.contains(el))) out.push(cw.paints[i]);
    }
    return out;
  };
  cw.lastSigIn = (root) => {
    for (let i = cw.paints.length - 1; i >= 0; i--) {
      const el = cw.paintEls[i];
      if (el === root || root.contains(el)) return cw.paints[i].sig;
    }
    // Nothing recorded yet (e.g. painted before we looked): read the picture now.
    const pic = root.matches("img,canvas") ? root : root.querySelector("img,canvas");
    return pic ? signature(pic) : null;
  };
  cw.eventsAfter = (since, id) => cw.events.filter((e) => e.t > since && (!id || e.testid === id));
})();

// src/components/model.ts
var Disposer = class {
  constructor() {
    this.fns = [];
  }
  add(fn) {
    this.fns.push(fn);
  }
  /** Calls `callback` when trait `name` changes; removed on dispose. */
  listen(model, name, callback) {
    const event = `change:${name}`;
    model.on(event, callback);
    this.add(() => model.off(event, callback));
  }
  /** A DOM listener that is removed on dispose (`capture`: in the capture phase). */
  dom(target, type, handler, capture = false) {
    target.addEventListener(type, handler, capture);
    this.add(() => target.removeEventListener(type, handler, capture));
  }
  dispose() {
    for (const fn of this.fns.splice(0).reverse()) fn();
  }
};
var watches = /* @__PURE__ */ new WeakMap();
function watchSends(model, watch, d) {
  let set = watches.get(model);
  if (!set) watches.set(model, set = /* @__PURE__ */ new Set());
  set.add(watch);
  d.add(() => set.delete(watch));
}
function sending(model, send) {
  try {
    send();
  } catch (err) {
    for (const w of watches.get(model) ?? []) w.failed(err);
    return;
  }
  for (const w of watches.get(model) ?? []) w.sent();
}
function setTrait(model, name, value) {
  model.set(name, value);
  sending(model, () => model.save_changes());
}
function action(model, type, extra = {}, buffers) {
  sending(model, () => model.send({ type, ...extra }, void 0, buffers));
}
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") el.className = v;
    else el.setAttribute(k, v);
  }
  for (const c of children) el.append(c);
  return el;
}

// src/components/select.ts
function pair(o) {
  return Array.isArray(o) ? [String(o[0]), o[1]] : [String(o), o];
}
function select(model, name, opts, d) {
  const sel = h("select", { "data-testid": opts.testid ?? name, "aria-label": opts.label });
  const wrap = h("label", { class: "cnnw-field" }, h("span", { class: "cnnw-label" }, opts.label), sel);
  const optionsTrait = opts.optionsTrait ?? `${name}_options`;
  let values = [];
  const fill = () => {
    const list = opts.options ?? model.get(optionsTrait) ?? [];
    values = [];
    sel.replaceChildren();
    for (const o of list) {
      const [label, value] = pair(o);
      values.push(value);
      sel.append(h("option", { value: String(values.length - 1) }, label));
    }
    sync();
  };
  const sync = () => {
    const current = model.get(name);
    const i = values.findIndex((v) => v === current || String(v) === String(current));
    sel.value = i >= 0 ? String(i) : "";
  };
  d.dom(sel, "change", () => {
    const i = Number(sel.value);
    if (i >= 0 && i < values.length) setTrait(model, name, values[i]);
  });
  d.dom(sel, "keydown", (e) => e.stopPropagation());
  d.listen(model, name, sync);
  if (!opts.options) d.listen(model, optionsTrait, fill);
  fill();
  return wrap;
}

// src/components/slider.ts
function defaultFormat(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 1 ? 2 : 1);
}
function slider(model, name, opts, d) {
  const testid = opts.testid ?? name;
  const input = h("input", { type: "range", "data-testid": testid, "aria-label": opts.label });
  const value = h("output", { class: "cnnw-value", "data-testid": `${testid}-value` });
  const wrap = h(
    "label",
    { class: "cnnw-field cnnw-slider" },
    h("span", { class: "cnnw-label" }, opts.label),
    input,
    value
  );
  const format = opts.format ?? defaultFormat;
  const bounds = () => {
    input.min = String(opts.minTrait ? model.get(opts.minTrait) : opts.min ?? 0);
    input.max = String(opts.maxTrait ? model.get(opts.maxTrait) : opts.max ?? 1);
    input.step = String(opts.step ?? 1);
  };
  const sync = () => {
    const v = Number(model.get(name));
    input.value = String(v);
    value.textContent = format(v);
  };
  d.dom(input, "input", () => {
    const v = Number(input.value);
    value.textContent = format(v);
    setTrait(model, name, v);
  });
  d.dom(input, "keydown", (e) => e.stopPropagation());
  d.listen(model, name, sync);
  if (opts.minTrait) d.listen(model, opts.minTrait, () => {
    bounds();
    sync();
  });
  if (opts.maxTrait) d.listen(model, opts.maxTrait, () => {
    bounds();
    sync();
  });
  bounds();
  sync();
  return wrap;
}

// src/components/image_view.ts
function toBytes(data) {
  if (!data) return new Uint8Array(0);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(0);
}
function sniffMime(bytes) {
  if (bytes.length >= 4 && bytes[0] === 137 && bytes[1] === 80 && bytes[2] === 78 && bytes[3] === 71)
    return "image/png";
  if (bytes.length >= 3 && bytes[0] === 255 && bytes[1] === 216 && bytes[2] === 255) return "image/jpeg";
  return "";
}
function imageView(model, name, opts, d) {
  const img = h("img", {
    class: "cnnw-image" + (opts.pixelated ? " cnnw-pixelated" : ""),
    "data-testid": opts.testid ?? name,
    alt: opts.alt ?? name,
    draggable: "false"
  });
  let url = "";
  const release = () => {
    if (url && typeof URL.revokeObjectURL === "function") URL.revokeObjectURL(url);
    url = "";
  };
  const draw = () => {
    const bytes = toBytes(model.get(name));
    const mime = sniffMime(bytes);
    release();
    if (!mime) {
      img.removeAttribute("src");
      img.dataset.empty = "true";
      return;
    }
    url = URL.createObjectURL(new Blob([bytes.slice()], { type: mime }));
    img.src = url;
    img.dataset.empty = "false";
    img.dataset.mime = mime;
    img.dataset.bytes = String(bytes.length);
  };
  if (opts.onClick) {
    const onClick = opts.onClick;
    img.classList.add("cnnw-clickable");
    d.dom(img, "click", (e) => {
      const r = img.getBoundingClientRect();
      if (r.width <= 0 || r.height <= 0) return;
      onClick(
        Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1),
        Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1)
      );
    });
  }
  d.listen(model, name, draw);
  d.add(release);
  draw();
  return img;
}

// src/components/progress_bar.ts
function progressBar(model, d, valueTrait = "progress", textTrait = "status") {
  const bar = h("progress", { "data-testid": valueTrait, max: "1", value: "0" });
  const text = h("span", { class: "cnnw-status", "data-testid": textTrait });
  const wrap = h("div", { class: "cnnw-progress" }, bar, text);
  const sync = () => {
    const v = Number(model.get(valueTrait) ?? 0);
    bar.value = Math.min(Math.max(v, 0), 1);
    text.textContent = String(model.get(textTrait) ?? "");
  };
  d.listen(model, valueTrait, sync);
  d.listen(model, textTrait, sync);
  sync();
  return wrap;
}
function busyBar(model, d) {
  const bar = h("progress", { "data-testid": "busy_progress", max: "1" });
  const text = h("span", { class: "cnnw-busy-label", "data-testid": "busy_label" });
  const wrap = h("div", { class: "cnnw-busybar", role: "status", "data-testid": "busy" }, bar, text);
  const sync = () => {
    const busy = Boolean(model.get("busy"));
    const v = Math.min(Math.max(Number(model.get("busy_progress") ?? 0), 0), 1);
    if (v > 0) bar.value = v;
    else bar.removeAttribute("value");
    text.textContent = String(model.get("busy_label") ?? "");
    wrap.hidden = !busy;
  };
  for (const name of ["busy", "busy_progress", "busy_label"]) d.listen(model, name, sync);
  sync();
  return wrap;
}

// src/components/error_banner.ts
function errorBanner(model, d) {
  const text = h("span", { class: "cnnw-error-text" });
  const close = h("button", {
    type: "button",
    class: "cnnw-error-close",
    "aria-label": "dismiss",
    "data-testid": "error-dismiss"
  }, "×");
  const banner = h("div", { class: "cnnw-error", role: "alert", "data-testid": "error" }, text, close);
  const sync = () => {
    const msg = String(model.get("error") ?? "");
    text.textContent = msg;
    banner.hidden = msg === "";
  };
  d.dom(close, "click", () => setTrait(model, "error", ""));
  d.listen(model, "error", sync);
  sync();
  return banner;
}

// src/components/buttons.ts
function button(model, type, label, d, testid = type) {
  const b = h("button", { type: "button", class: "cnnw-button", "data-testid": testid }, label);
  d.dom(b, "click", () => action(model, type));
  return b;
}
function startStop(model, d, labels = { start: "Start", stop: "Stop" }) {
  const start = button(model, "start", labels.start, d);
  start.classList.add("cnnw-primary");
  const stop = button(model, "stop", labels.stop, d);
  const sync = () => {
    const running = Boolean(model.get("running"));
    start.disabled = running;
    stop.disabled = !running;
  };
  d.listen(model, "running", sync);
  sync();
  return h("div", { class: "cnnw-buttons" }, start, stop);
}

// src/components/upload.ts
var MAX_FILE_BYTES = 50 * 1024 * 1024;
var SEND_BYTES = 8 * 1024 * 1024;

// src/components/connection.ts
var KERNEL_RESTARTED = "the kernel behind this view has restarted: run the cell again";
var KERNEL_SILENT = "no kernel answers this view: run the cell again to use its controls";
function kernelStatus(model) {
  const status = model.widget_manager?.kernel?.status;
  return typeof status === "string" ? status : void 0;
}
function connectionWatch(model, root, d, options = {}) {
  const timeoutMs = options.timeoutMs ?? 5e3;
  const banner = h("div", { class: "cnnw-connection", role: "alert", "data-testid": "kernel-status" });
  banner.hidden = true;
  let state = "live";
  let outstanding = null;
  let nextId = 1;
  let timer = null;
  let disabled = [];
  const clearTimer = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  d.add(clearTimer);
  const lose = (text, final) => {
    if (state === "gone") return;
    state = final ? "gone" : "silent";
    banner.textContent = text;
    banner.hidden = false;
    root.classList.add("cnnw-disconnected");
    for (const el of root.querySelectorAll("input, select, button, textarea")) {
      if (!el.disabled) {
        el.disabled = true;
        disabled.push(el);
      }
    }
    if (final) {
      clearTimer();
      outstanding = null;
    }
  };
  const regain = () => {
    if (state !== "silent") return;
    state = "live";
    banner.hidden = true;
    root.classList.remove("cnnw-disconnected");
    for (const el of disabled) el.disabled = false;
    disabled = [];
  };
  const check = () => {
    timer = null;
    if (outstanding === null || state === "gone") return;
    const status = kernelStatus(model);
    if (status === "busy") {
      timer = setTimeout(check, timeoutMs);
      return;
    }
    lose(status === void 0 ? KERNEL_SILENT : KERNEL_RESTARTED, false);
    timer = setTimeout(check, timeoutMs);
  };
  const ping = () => {
    if (state === "gone" || outstanding !== null) return;
    outstanding = nextId++;
    try {
      model.send({ type: "ping", id: outstanding });
    } catch {
      lose(KERNEL_RESTARTED, true);
      return;
    }
    clearTimer();
    timer = setTimeout(check, timeoutMs);
  };
  const onMessage = (msg) => {
    if (!msg || msg.type !== "pong" || msg.id !== outstanding) return;
    outstanding = null;
    clearTimer();
    regain();
  };
  const onCommLost = () => {
    if (model.comm_live !== true) lose(KERNEL_RESTARTED, true);
  };
  model.on("msg:custom", onMessage);
  model.on("comm_live_update", onCommLost);
  d.add(() => {
    model.off("msg:custom", onMessage);
    model.off("comm_live_update", onCommLost);
  });
  watchSends(model, { sent: ping, failed: () => lose(KERNEL_RESTARTED, true) }, d);
  return banner;
}
function announceView(model, d) {
  const view = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  action(model, "view_attached", { view });
  let gone = false;
  const detach = (page) => {
    if (gone) return;
    gone = true;
    try {
      model.send({ type: "view_detached", view, page });
    } catch {
    }
  };
  d.dom(window, "pagehide", () => detach(true));
  d.add(() => detach(false));
}
var staticHidden = /* @__PURE__ */ new Map();
function hideStaticPictures(key, d) {
  if (!/^[A-Za-z0-9_-]+$/.test(key)) return;
  let entry = staticHidden.get(key);
  if (!entry) {
    const style = document.createElement("style");
    style.dataset.cnnwStaticHide = key;
    const sel = `[data-cnnw-static="${key}"]`;
    style.textContent = `${sel}, .jp-OutputArea-child:has(${sel}) { display: none !important; }`;
    document.head.append(style);
    entry = { count: 0, style };
    staticHidden.set(key, entry);
  }
  entry.count += 1;
  d.add(() => {
    const e = staticHidden.get(key);
    if (!e) return;
    e.count -= 1;
    if (e.count <= 0) {
      e.style.remove();
      staticHidden.delete(key);
    }
  });
}

// src/components/layout.ts
function frame(model, el, kind, d) {
  const controls = h("div", { class: "cnnw-controls" });
  const body = h("div", { class: "cnnw-body" });
  const root = h(
    "div",
    { class: `cnnw cnnw-${kind}`, "data-widget": kind },
    errorBanner(model, d),
    controls,
    body
  );
  root.insertBefore(connectionWatch(model, root, d), controls);
  body.append(busyBar(model, d));
  el.append(root);
  d.add(() => root.remove());
  keepKeys(root, d);
  const busy = () => root.classList.toggle("cnnw-busy", Boolean(model.get("busy")));
  d.listen(model, "busy", busy);
  busy();
  hideStaticPictures(String(model.get("_static_key") ?? ""), d);
  announceView(model, d);
  return { root, controls, body };
}
function keepKeys(root, d) {
  d.dom(window, "keydown", (e) => {
    const t = e.target;
    if (!(t instanceof Element) || t === root || !root.contains(t)) return;
    if (t.matches("input, select, textarea, button, summary, [contenteditable]")) {
      e.stopPropagation();
    }
  }, true);
}

// src/widgets/training_monitor.ts
var RATES = [
  ["0.0001", 1e-4],
  ["0.0003", 3e-4],
  ["0.001", 1e-3],
  ["0.003", 3e-3],
  ["0.01", 0.01],
  ["0.03", 0.03]
];
function render({ model, el }) {
  const d = new Disposer();
  const f = frame(model, el, "training-monitor", d);
  f.controls.append(
    startStop(model, d),
    slider(model, "epochs", { label: "Epochs", min: 1, max: 50 }, d),
    select(model, "lr", { label: "Learning rate", options: RATES }, d),
    progressBar(model, d)
  );
  const details = h(
    "details",
    { "data-testid": "figure" },
    h("summary", { class: "cnnw-caption" }, "Figure of the last run (PNG)"),
    imageView(model, "view", { alt: "loss and accuracy curves" }, d)
  );
  f.body.append(details);
  return () => d.dispose();
}
var training_monitor_default = { render };
export {
  training_monitor_default as default
};

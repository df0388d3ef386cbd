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
  const format2 = opts.format ?? defaultFormat;
  const bounds = () => {
    input.min = String(opts.minTrait ? model.get(opts.minTrait) : opts.min ?? 0);
    input.max = String(opts.maxTrait ? model.get(opts.maxTrait) : opts.max ?? 1);
    input.step = String(opts.step ?? 1);
  };
  const sync = () => {
    const v = Number(model.get(name));
    input.value = String(v);
    value.textContent = format2(v);
  };
  d.dom(input, "input", () => {
    const v = Number(input.value);
    value.textContent = format2(v);
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

// src/components/upload.ts
var MAX_FILE_BYTES = 50 * 1024 * 1024;
var MAX_SIDE = 2048;
var SEND_BYTES = 8 * 1024 * 1024;
var JPEG_QUALITY = 0.92;
function megabytes(n) {
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}
function fitWithin(width, height, maxSide = MAX_SIDE) {
  const long = Math.max(width, height);
  if (!(long > maxSide)) return [width, height];
  const s = maxSide / long;
  return [Math.max(1, Math.round(width * s)), Math.max(1, Math.round(height * s))];
}
function tooBig(name, bytes) {
  return `${name} is ${megabytes(bytes)}: files over ${megabytes(MAX_FILE_BYTES)} are not uploaded. Save the picture smaller (a model sees a few hundred pixels), or pass its path to set_image() in Python.`;
}
function planUpload(name, bytes, size) {
  if (bytes > MAX_FILE_BYTES) return { kind: "refuse", message: tooBig(name, bytes) };
  if (size === null) {
    if (bytes <= SEND_BYTES) return { kind: "send" };
    return { kind: "refuse", message: `${name} (${megabytes(bytes)}) is not a picture this browser can read, and too big to send as it is (over ${megabytes(SEND_BYTES)}). Convert it to PNG or JPEG, or pass its path to set_image() in Python.` };
  }
  const [w, h2] = size;
  if (Math.max(w, h2) <= MAX_SIDE && bytes <= SEND_BYTES) return { kind: "send" };
  const [width, height] = fitWithin(w, h2);
  return { kind: "shrink", width, height };
}
var browserCodec = {
  async decode(file) {
    if (typeof createImageBitmap !== "function") return null;
    try {
      const bitmap = await createImageBitmap(file);
      return {
        width: bitmap.width,
        height: bitmap.height,
        source: bitmap,
        close: () => bitmap.close()
      };
    } catch {
      return null;
    }
  },
  async encode(source, width, height) {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("this browser cannot draw on a canvas");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(source, 0, 0, width, height);
    return await new Promise((resolve, reject) => canvas.toBlob(
      (b) => b ? resolve(b) : reject(new Error("the picture could not be encoded")),
      "image/jpeg",
      JPEG_QUALITY
    ));
  }
};
var UploadRefused = class extends Error {
};
async function prepareUpload(file, codec = browserCodec, onStatus = () => {
}) {
  if (file.size > MAX_FILE_BYTES) throw new UploadRefused(tooBig(file.name, file.size));
  onStatus(`reading ${file.name}…`);
  const picture = await codec.decode(file);
  try {
    const plan = planUpload(file.name, file.size, picture ? [picture.width, picture.height] : null);
    if (plan.kind === "refuse") throw new UploadRefused(plan.message);
    if (plan.kind === "send" || !picture) {
      return { name: file.name, mime: file.type, buffer: await file.arrayBuffer() };
    }
    onStatus(`shrinking ${picture.width}×${picture.height} to ${plan.width}×${plan.height}…`);
    const blob = await codec.encode(picture.source, plan.width, plan.height);
    if (blob.size > SEND_BYTES) {
      throw new UploadRefused(`${file.name} is still ${megabytes(blob.size)} at ${plan.width}×${plan.height} pixels; save it smaller and upload it again.`);
    }
    return {
      name: file.name,
      mime: "image/jpeg",
      buffer: await blob.arrayBuffer(),
      resized: { from: [picture.width, picture.height], to: [plan.width, plan.height] }
    };
  } finally {
    picture?.close?.();
  }
}
async function sendFile(model, file, codec = browserCodec, onStatus = () => {
}) {
  let prepared;
  try {
    prepared = await prepareUpload(file, codec, onStatus);
  } catch (e) {
    const msg = e instanceof UploadRefused ? e.message : `${file.name} could not be read in the browser: ${e instanceof Error ? e.message : e}`;
    setTrait(model, "error", msg);
    return;
  } finally {
    onStatus("");
  }
  const extra = { name: prepared.name, mime: prepared.mime };
  if (prepared.resized) extra.resized = prepared.resized;
  action(model, "upload", extra, [prepared.buffer]);
}
function uploadButton(model, d, label = "Upload image") {
  const input = h("input", {
    type: "file",
    accept: "image/*",
    "data-testid": "upload",
    class: "cnnw-file"
  });
  const status = h("span", { class: "cnnw-status", "data-testid": "upload-status" });
  d.dom(input, "change", () => {
    const file = input.files?.[0];
    if (file) void sendFile(model, file, browserCodec, (t) => {
      status.textContent = t;
    });
    input.value = "";
  });
  return h(
    "label",
    { class: "cnnw-field cnnw-upload" },
    h("span", { class: "cnnw-label" }, label),
    input,
    status
  );
}
function dropZone(model, target, d) {
  target.dataset.dropzone = "true";
  d.dom(target, "dragover", (e) => {
    e.preventDefault();
    target.classList.add("cnnw-dragover");
  });
  d.dom(target, "dragleave", () => target.classList.remove("cnnw-dragover"));
  d.dom(target, "drop", (e) => {
    e.preventDefault();
    target.classList.remove("cnnw-dragover");
    const file = e.dataTransfer?.files?.[0];
    if (file) void sendFile(model, file);
  });
}

// src/components/text.ts
function textView(model, name, d, cls = "cnnw-caption", testid = name) {
  const el = h("div", { class: cls, "data-testid": testid });
  const sync = () => {
    el.textContent = String(model.get(name) ?? "");
  };
  d.listen(model, name, sync);
  sync();
  return el;
}

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
function figure(caption, ...children) {
  const f = h("figure", { class: "cnnw-figure" }, ...children);
  if (caption) f.append(caption);
  return f;
}

// src/components/checkbox.ts
function checkbox(model, name, label, d, testid = name) {
  const input = h("input", { type: "checkbox", "data-testid": testid, "aria-label": label });
  const sync = () => {
    input.checked = Boolean(model.get(name));
  };
  d.dom(input, "change", () => setTrait(model, name, input.checked));
  d.listen(model, name, sync);
  sync();
  return h("label", { class: "cnnw-field" }, input, h("span", { class: "cnnw-label" }, label));
}

// src/components/param_panel.ts
function format(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 1 ? 2 : 1);
}
function control(spec, value, set, d) {
  const testid = `param-${spec.name}`;
  const label = h("span", { class: "cnnw-label" }, spec.label);
  const field = (input2, ...rest) => {
    const wrap = h("label", { class: "cnnw-field" }, label, input2, ...rest);
    if (spec.help) wrap.title = spec.help;
    d.dom(input2, "keydown", (e) => e.stopPropagation());
    return wrap;
  };
  if (spec.kind === "bool") {
    const input2 = h("input", { type: "checkbox", "data-testid": testid, "aria-label": spec.label });
    input2.checked = Boolean(value);
    d.dom(input2, "change", () => set(input2.checked));
    return { el: field(input2), show: (v) => {
      input2.checked = Boolean(v);
    } };
  }
  if (spec.kind === "choice") {
    const sel = h("select", { "data-testid": testid, "aria-label": spec.label });
    for (const c of spec.choices ?? []) sel.append(h("option", { value: String(c) }, String(c)));
    sel.value = String(value);
    d.dom(sel, "change", () => {
      const picked = (spec.choices ?? []).find((c) => String(c) === sel.value);
      set(picked ?? sel.value);
    });
    return { el: field(sel), show: (v) => {
      sel.value = String(v);
    } };
  }
  if (spec.kind === "int" || spec.kind === "float") {
    const integer = spec.kind === "int";
    const bounded = spec.min !== void 0 && spec.max !== void 0;
    const input2 = h("input", {
      type: bounded ? "range" : "number",
      "data-testid": testid,
      "aria-label": spec.label
    });
    if (spec.min !== void 0) input2.min = String(spec.min);
    if (spec.max !== void 0) input2.max = String(spec.max);
    input2.step = String(spec.step ?? (integer ? 1 : "any"));
    input2.value = String(value);
    const shown = h("output", { class: "cnnw-value", "data-testid": `${testid}-value` }, format(Number(value)));
    const read = () => {
      const v = Number(input2.value);
      return integer ? Math.round(v) : v;
    };
    d.dom(input2, bounded ? "input" : "change", () => {
      const v = read();
      if (!Number.isFinite(v)) return;
      shown.textContent = format(v);
      set(v);
    });
    return {
      el: bounded ? field(input2, shown) : field(input2),
      show: (v) => {
        input2.value = String(v);
        shown.textContent = format(Number(v));
      }
    };
  }
  const input = h("input", { type: "text", "data-testid": testid, "aria-label": spec.label });
  input.value = String(value ?? "");
  d.dom(input, "change", () => set(input.value));
  return { el: field(input), show: (v) => {
    input.value = String(v ?? "");
  } };
}
function paramPanel(model, specsTrait, valuesTrait, d) {
  const panel = h("span", { class: "cnnw-controls cnnw-params", "data-testid": specsTrait });
  let inner = new Disposer();
  let controls = /* @__PURE__ */ new Map();
  d.add(() => inner.dispose());
  const value = (s) => {
    const values = model.get(valuesTrait) ?? {};
    return s.name in values ? values[s.name] : s.default;
  };
  const draw = () => {
    inner.dispose();
    inner = new Disposer();
    const specs = (model.get(specsTrait) ?? []).filter((s) => s.kind !== "any");
    controls = new Map(specs.map((s) => [s.name, control(
      s,
      value(s),
      (v) => setTrait(model, valuesTrait, { ...model.get(valuesTrait) ?? {}, [s.name]: v }),
      inner
    )]));
    panel.replaceChildren(...[...controls.values()].map((c) => c.el));
    panel.hidden = specs.length === 0;
  };
  const sync = () => {
    for (const s of model.get(specsTrait) ?? []) controls.get(s.name)?.show(value(s));
  };
  d.listen(model, specsTrait, draw);
  d.listen(model, valuesTrait, sync);
  draw();
  return panel;
}

// src/components/hover_readout.ts
function pair2(v) {
  if (!Array.isArray(v) || v.length !== 2) return void 0;
  const a = Math.floor(Number(v[0]));
  const b = Math.floor(Number(v[1]));
  return a > 0 && b > 0 ? [a, b] : void 0;
}
function decodeReadout(raw) {
  const size = pair2(raw?.size);
  const shape = pair2(raw?.shape) ?? size;
  if (!size || !shape) return void 0;
  const bytes = toBytes(raw?.values).slice();
  if (bytes.byteLength < shape[0] * shape[1] * 4) return void 0;
  return { label: String(raw?.label ?? "value"), size, shape, values: new DataView(bytes.buffer) };
}
function readAt(r, fx, fy) {
  if (!(fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1)) return void 0;
  const cell = (f, n) => Math.min(Math.floor(f * n), n - 1);
  const [H, W] = r.size;
  const [sh, sw] = r.shape;
  const value = r.values.getFloat32((cell(fy, sh) * sw + cell(fx, sw)) * 4, true);
  return { x: cell(fx, W), y: cell(fy, H), value };
}
function formatValue(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}
function readingText(label, r) {
  return `${label} at x ${r.x}, y ${r.y}: ${formatValue(r.value)}`;
}
function hoverReadout(model, target, name, d, testid = `${name}-hover`) {
  const line = h("div", {
    class: "cnnw-caption cnnw-readout",
    "data-testid": testid,
    "aria-live": "off"
  });
  let readout = decodeReadout(model.get(name));
  let last;
  const show = () => {
    if (!readout || !last) {
      line.textContent = "";
      return;
    }
    const r = readAt(readout, last[0], last[1]);
    line.textContent = r ? readingText(readout.label, r) : "";
  };
  d.dom(target, "mousemove", (e) => {
    const box = target.getBoundingClientRect();
    if (box.width <= 0 || box.height <= 0) return;
    last = [(e.clientX - box.left) / box.width, (e.clientY - box.top) / box.height];
    show();
  });
  d.dom(target, "mouseleave", () => {
    last = void 0;
    show();
  });
  d.listen(model, name, () => {
    readout = decodeReadout(model.get(name));
    show();
  });
  return line;
}

// src/components/score_table.ts
var num = (v, digits = 3) => typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–";
var pct = (v) => typeof v === "number" && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "–";
function faithfulnessLine(model, d, name = "faithfulness") {
  const el = h("div", { class: "cnnw-caption cnnw-scores", "data-testid": name });
  const sync = () => {
    const f = model.get(name) ?? {};
    if (f.error) {
      el.textContent = `Faithfulness of ${f.label ?? "this map"}: ${f.error}`;
      el.dataset.state = "error";
    } else if (typeof f.deletion_auc === "number") {
      el.replaceChildren(
        h("span", { class: "cnnw-deletion" }, "Deletion"),
        ` AUC ${num(f.deletion_auc)} ↓ · `,
        h("span", { class: "cnnw-insertion" }, "Insertion"),
        ` AUC ${num(f.insertion_auc)} ↑ · `,
        `Average drop ${pct(f.average_drop)} ↓ · increase in confidence: ${f.increase_in_confidence ? "yes" : "no"}`
      );
      el.dataset.state = "ready";
    } else {
      el.textContent = "";
      el.dataset.state = "empty";
    }
  };
  d.listen(model, name, sync);
  sync();
  return el;
}
var COLUMNS = [
  { key: "deletion_auc", title: "Deletion AUC ↓", lowerIsBetter: true, fmt: (v) => num(v) },
  { key: "insertion_auc", title: "Insertion AUC ↑", lowerIsBetter: false, fmt: (v) => num(v) },
  { key: "average_drop", title: "Average drop ↓", lowerIsBetter: true, fmt: pct }
];
function bestRows(rows) {
  const best = {};
  for (const c of COLUMNS) {
    let at = -1;
    rows.forEach((r, i) => {
      const v = r[c.key];
      if (typeof v !== "number" || !Number.isFinite(v)) return;
      const cur = at < 0 ? void 0 : rows[at][c.key];
      if (cur === void 0 || (c.lowerIsBetter ? v < cur : v > cur)) at = i;
    });
    best[c.key] = at;
  }
  return best;
}
function scoreAll(model, d, opts = {}) {
  const rowsName = opts.rows ?? "compare";
  const skippedName = opts.skipped ?? "compare_skipped";
  const currentName = opts.current ?? "method";
  const busyName = opts.busy ?? "scoring";
  const button = h(
    "button",
    { type: "button", class: "cnnw-button", "data-testid": "score_all" },
    "Score all methods"
  );
  const table = h("div", { class: "cnnw-score-table", "data-testid": rowsName });
  const draw = () => {
    const pending = Boolean(model.get(busyName));
    button.disabled = pending;
    const rows = model.get(rowsName) ?? [];
    const skipped = model.get(skippedName) ?? [];
    table.replaceChildren();
    table.dataset.rows = String(rows.length);
    table.dataset.pending = String(pending);
    if (pending) {
      table.append(h("div", { class: "cnnw-caption" }, "Scoring every method on this image…"));
    }
    table.hidden = !pending && rows.length === 0 && skipped.length === 0;
    if (rows.length) {
      const best = bestRows(rows);
      const current = model.get(currentName);
      const head = h(
        "tr",
        {},
        h("th", { scope: "col" }, "Method"),
        ...COLUMNS.map((c) => h("th", { scope: "col" }, c.title))
      );
      const body = rows.map((r, i) => {
        const tr = h("tr", { "data-method": r.method }, h("th", { scope: "row" }, r.label ?? r.method));
        if (r.method === current) tr.classList.add("cnnw-current");
        for (const c of COLUMNS) {
          const td = h("td", {}, c.fmt(r[c.key]));
          if (best[c.key] === i) td.classList.add("cnnw-best");
          tr.append(td);
        }
        return tr;
      });
      table.append(h("table", {}, h("thead", {}, head), h("tbody", {}, ...body)));
    }
    if (skipped.length) {
      const list = h(
        "div",
        { class: "cnnw-caption", "data-testid": "compare_skipped" },
        "Not scored: " + skipped.map((s) => `${s.label ?? s.method} (${s.reason})`).join("; ")
      );
      table.append(list);
    }
  };
  d.dom(button, "click", () => action(model, "score_all"));
  for (const name of [rowsName, skippedName, currentName, busyName]) d.listen(model, name, draw);
  draw();
  return { button, table };
}

// src/widgets/saliency_viewer.ts
function render({ model, el }) {
  const d = new Disposer();
  const f = frame(model, el, "saliency-viewer", d);
  const scores = scoreAll(model, d);
  f.controls.append(
    select(model, "method", { label: "Method" }, d),
    paramPanel(model, "method_params", "params", d),
    select(model, "target", { label: "Class" }, d),
    select(model, "compare_target", { label: "Compare with" }, d),
    slider(model, "alpha", { label: "Alpha", min: 0, max: 1, step: 0.05 }, d),
    checkbox(model, "sanity", "Sanity check", d),
    scores.button,
    uploadButton(model, d)
  );
  const view = imageView(model, "view", { alt: "{alt}" }, d);
  const mapFigure = figure(
    textView(model, "caption", d),
    view,
    hoverReadout(model, view, "readout", d, "view-hover")
  );
  f.body.append(
    mapFigure,
    figure(null, imageView(model, "photo", { alt: "input" }, d))
  );
  f.root.append(faithfulnessLine(model, d), scores.table, textView(model, "method_help", d, "cnnw-help"));
  dropZone(model, f.root, d);
  return () => d.dispose();
}
var saliency_viewer_default = { render };
export {
  saliency_viewer_default as default
};

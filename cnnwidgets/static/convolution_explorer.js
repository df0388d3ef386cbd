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

// src/widgets/convolution_explorer.ts
var TAP_COLOUR = "#ff9800";
function fmt(v) {
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  const s = n.toFixed(Number.isInteger(n) ? 0 : 3).replace(/\.?0+$/, "");
  return s === "-0" || s === "" ? "0" : s;
}
function box(left, top, width, height, testid) {
  const b = h("div", { "data-testid": testid });
  Object.assign(b.style, {
    position: "absolute",
    left: `${left}%`,
    top: `${top}%`,
    width: `${width}%`,
    height: `${height}%`,
    boxSizing: "border-box",
    border: `2px solid ${TAP_COLOUR}`,
    pointerEvents: "none"
  });
  return b;
}
function overlaid(img) {
  const cover = (el) => {
    Object.assign(el.style, { position: "absolute", inset: "0", pointerEvents: "none" });
    return el;
  };
  const numbers = cover(h("div", { class: "cnnw-numbers" }));
  const layer = cover(h("div", { class: "cnnw-overlay" }));
  const wrap = h("div", {}, img, numbers, layer);
  Object.assign(wrap.style, {
    position: "relative",
    display: "inline-block",
    lineHeight: "0",
    width: "fit-content",
    alignSelf: "flex-start"
  });
  return { wrap, layer, numbers };
}
function dims(v) {
  return Array.isArray(v) && v.length === 2 ? [Number(v[0]), Number(v[1])] : [0, 0];
}
function drawTaps(model, layer) {
  layer.replaceChildren();
  const cell = model.get("cell") ?? {};
  const shapes = model.get("shapes") ?? {};
  const [ph, pw] = dims(shapes.padded);
  const pad = Number(model.get("padding") ?? 0);
  const rows = cell.rows ?? [];
  const cols = cell.cols ?? [];
  if (ph <= 0 || pw <= 0) return;
  rows.forEach((row, i) => row.forEach((r, j) => {
    const c = cols[i]?.[j];
    if (c === void 0) return;
    layer.append(box((c + pad) / pw * 100, (r + pad) / ph * 100, 100 / pw, 100 / ph, "tap"));
  }));
}
function drawCell(model, layer) {
  layer.replaceChildren();
  const cell = model.get("cell") ?? {};
  const [oh, ow] = dims((model.get("shapes") ?? {}).output);
  if (oh <= 0 || ow <= 0 || cell.row === void 0) return;
  layer.append(box(cell.col / ow * 100, cell.row / oh * 100, 100 / ow, 100 / oh, "current-cell"));
}
function drawValues(layer, values, testid) {
  layer.replaceChildren();
  if (!Array.isArray(values) || values.length === 0) return;
  const rows = values.length;
  values.forEach((row, i) => {
    if (!Array.isArray(row)) return;
    row.forEach((v, j) => {
      const t = h("div", { "data-testid": testid }, fmt(v));
      Object.assign(t.style, {
        position: "absolute",
        left: `${j / row.length * 100}%`,
        top: `${i / rows * 100}%`,
        width: `${100 / row.length}%`,
        height: `${100 / rows}%`,
        display: "flex",
        alignItems: "center",
        justifyContent: "center",
        lineHeight: "1",
        fontSize: "11px",
        color: "#fff",
        textShadow: "0 0 2px #000, 0 0 2px #000",
        pointerEvents: "none"
      });
      layer.append(t);
    });
  });
}
function kernelEditor(model, d) {
  const table = h("table", { class: "cnnw-kernel", "data-testid": "kernel" });
  table.style.borderCollapse = "collapse";
  let shape = "";
  const inputs = [];
  const send = () => {
    const k = inputs.map((row) => row.map((inp) => inp.value.trim() === "" || Number.isNaN(Number(inp.value)) ? inp.value : Number(inp.value)));
    setTrait(model, "kernel", k);
  };
  const sync = () => {
    const k = model.get("kernel") ?? [];
    const now = k.map((r) => r.length).join(",");
    if (now !== shape) {
      shape = now;
      table.replaceChildren();
      inputs.length = 0;
      k.forEach((row, i) => {
        const tr = h("tr");
        inputs.push(row.map((_, j) => {
          const inp = h("input", {
            type: "number",
            step: "any",
            "data-testid": `kernel-${i}-${j}`,
            "aria-label": `kernel weight row ${i} column ${j}`
          });
          inp.style.width = "4.5em";
          d.dom(inp, "change", send);
          d.dom(inp, "keydown", (e) => e.stopPropagation());
          tr.append(h("td", {}, inp));
          return inp;
        }));
        table.append(tr);
      });
    }
    k.forEach((row, i) => row.forEach((v, j) => {
      const inp = inputs[i]?.[j];
      if (inp && document.activeElement !== inp) inp.value = fmt(v);
    }));
  };
  d.listen(model, "kernel", sync);
  sync();
  return table;
}
function arithmetic(model, d) {
  const table = h("table", { class: "cnnw-arithmetic cnnw-mono", "data-testid": "arithmetic" });
  table.style.borderCollapse = "collapse";
  const total = h("div", { class: "cnnw-caption", "data-testid": "cell-total" });
  const wrap = h("div", {}, table, total);
  const sync = () => {
    const cell = model.get("cell") ?? {};
    const values = cell.values ?? [];
    const weights = cell.weights ?? [];
    const inside = cell.inside ?? [];
    table.replaceChildren();
    values.forEach((row, i) => {
      const tr = h("tr");
      row.forEach((v, j) => {
        const td = h(
          "td",
          { title: `= ${fmt(cell.products?.[i]?.[j])}` },
          `${fmt(v)}×${fmt(weights[i]?.[j])}`
        );
        Object.assign(td.style, {
          padding: "2px 6px",
          border: "1px solid var(--cnnw-border, #ddd)",
          textAlign: "right",
          opacity: inside[i]?.[j] === false ? "0.45" : "1"
        });
        tr.append(td);
      });
      table.append(tr);
    });
    total.textContent = cell.row === void 0 ? "" : `output[${cell.row}, ${cell.col}] = sum of these products = ${fmt(cell.total)}`;
  };
  d.listen(model, "cell", sync);
  sync();
  return wrap;
}
function stepper(model, d) {
  const count = () => Number(model.get("position_max") ?? 0) + 1;
  const move = (n) => {
    const c = Math.max(count(), 1);
    setTrait(model, "position", ((Number(model.get("position") ?? 0) + n) % c + c) % c);
  };
  const prev = h("button", { type: "button", class: "cnnw-button", "data-testid": "prev" }, "◀ Previous");
  const play = h("button", { type: "button", class: "cnnw-button", "data-testid": "play" }, "Play");
  const next = h("button", { type: "button", class: "cnnw-button", "data-testid": "next" }, "Next ▶");
  let timer;
  const pause = () => {
    if (timer !== void 0) clearInterval(timer);
    timer = void 0;
    play.textContent = "Play";
  };
  d.dom(prev, "click", () => {
    pause();
    move(-1);
  });
  d.dom(next, "click", () => {
    pause();
    move(1);
  });
  d.dom(play, "click", () => {
    if (timer !== void 0) return pause();
    play.textContent = "Pause";
    timer = setInterval(() => move(1), 400);
  });
  d.add(pause);
  return h(
    "div",
    { class: "cnnw-buttons" },
    prev,
    play,
    next,
    slider(model, "position", { label: "Position", min: 0, maxTrait: "position_max" }, d)
  );
}
function render({ model, el }) {
  const d = new Disposer();
  const f = frame(model, el, "convolution-explorer", d);
  f.controls.append(
    select(model, "source", { label: "Input" }, d),
    // The range follows the source: the numbers grid (3 to 16) or a photo (4 to 128).
    slider(model, "size", { label: "Size", minTrait: "size_min", maxTrait: "size_max" }, d),
    select(model, "kernel_name", { label: "Kernel" }, d),
    slider(model, "kernel_size", { label: "Kernel size", min: 1, max: 7 }, d),
    slider(model, "stride", { label: "Stride", min: 1, max: 4 }, d),
    slider(model, "padding", { label: "Padding", min: 0, max: 4 }, d),
    slider(model, "dilation", { label: "Dilation", min: 1, max: 4 }, d),
    uploadButton(model, d)
  );
  const input = overlaid(imageView(model, "input_view", { alt: "padded input", pixelated: true }, d));
  const output = overlaid(imageView(model, "view", {
    alt: "output",
    pixelated: true,
    onClick: (x, y) => {
      const [oh, ow] = dims((model.get("shapes") ?? {}).output);
      if (oh > 0 && ow > 0) {
        setTrait(model, "position", Math.min(Math.floor(y * oh), oh - 1) * ow + Math.min(Math.floor(x * ow), ow - 1));
      }
    }
  }, d));
  const redraw = () => {
    drawTaps(model, input.layer);
    drawCell(model, output.layer);
  };
  for (const name of ["cell", "shapes", "padding"]) d.listen(model, name, redraw);
  redraw();
  const writeValues = () => {
    const values = model.get("values") ?? {};
    drawValues(input.numbers, values.input, "input-value");
    drawValues(output.numbers, values.output, "output-value");
  };
  d.listen(model, "values", writeValues);
  writeValues();
  const caption = (text) => h("figcaption", { class: "cnnw-caption" }, text);
  f.body.append(
    figure(caption("input (padding in blue, the kernel's taps in orange)"), input.wrap),
    figure(caption("kernel (edit a weight, or pick one above)"), kernelEditor(model, d)),
    figure(caption("output (click a cell)"), output.wrap)
  );
  f.root.append(
    stepper(model, d),
    figure(
      caption("one output cell: input value × weight at each tap"),
      arithmetic(model, d),
      textView(model, "equation", d, "cnnw-caption cnnw-mono")
    ),
    figure(caption("output size"), textView(model, "formula", d, "cnnw-caption cnnw-mono"))
  );
  return () => d.dispose();
}
var convolution_explorer_default = { render };
export {
  convolution_explorer_default as default,
  fmt
};

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
  /** A DOM listener that is removed on dispose. */
  dom(target, type, handler) {
    target.addEventListener(type, handler);
    this.add(() => target.removeEventListener(type, handler));
  }
  dispose() {
    for (const fn of this.fns.splice(0).reverse()) fn();
  }
};
function setTrait(model, name, value) {
  model.set(name, value);
  model.save_changes();
}
function action(model, type, extra = {}, buffers) {
  model.send({ type, ...extra }, void 0, buffers);
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
async function sendFile(model, file) {
  const buffer = await file.arrayBuffer();
  action(model, "upload", { name: file.name, mime: file.type }, [buffer]);
}
function uploadButton(model, d, label = "Upload image") {
  const input = h("input", {
    type: "file",
    accept: "image/*",
    "data-testid": "upload",
    class: "cnnw-file"
  });
  d.dom(input, "change", () => {
    const file = input.files?.[0];
    if (file) void sendFile(model, file);
    input.value = "";
  });
  return h("label", { class: "cnnw-field cnnw-upload" }, h("span", { class: "cnnw-label" }, label), input);
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
  el.append(root);
  d.add(() => root.remove());
  const busy = () => root.classList.toggle("cnnw-busy", Boolean(model.get("busy")));
  d.listen(model, "busy", busy);
  busy();
  return { root, controls, body };
}
function figure(caption, ...children) {
  const f = h("figure", { class: "cnnw-figure" }, ...children);
  if (caption) f.append(caption);
  return f;
}

// src/widgets/explorer.ts
function render({ model, el }) {
  const d = new Disposer();
  const f = frame(model, el, "explorer", d);
  f.controls.append(
    uploadButton(model, d),
    select(model, "layer", { label: "Layer" }, d),
    h("span", { class: "cnnw-label" }, "or drop an image here")
  );
  f.body.append(
    figure(null, imageView(model, "view", { alt: "input" }, d)),
    figure(
      null,
      h("div", { class: "cnnw-label" }, "Top predictions"),
      textView(model, "predictions", d, "cnnw-caption cnnw-mono")
    )
  );
  dropZone(model, f.root, d);
  return () => d.dispose();
}
var explorer_default = { render };
export {
  explorer_default as default
};

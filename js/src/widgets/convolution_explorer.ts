// ConvolutionExplorer: the padded input with the kernel's taps outlined, an editable kernel, the
// output with the current cell outlined, controls for stride / padding / dilation, a stepper
// (previous, play, next, position) and the arithmetic of the current output cell.
// All numbers come from the kernel side (traits `cell`, `shapes`, `equation`, `formula`); this
// file only draws them, so what the student reads is what numpy computed.
import {
  Disposer, RenderProps, WidgetModel, figure, frame, h, imageView, select, setTrait, slider,
  textView, uploadButton,
} from "../components";

const TAP_COLOUR = "#ff9800";

export function fmt(v: unknown): string {
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  const s = n.toFixed(Number.isInteger(n) ? 0 : 3).replace(/\.?0+$/, "");
  return s === "-0" || s === "" ? "0" : s;
}

function box(left: number, top: number, width: number, height: number, testid: string): HTMLElement {
  const b = h("div", { "data-testid": testid });
  Object.assign(b.style, {
    position: "absolute", left: `${left}%`, top: `${top}%`, width: `${width}%`, height: `${height}%`,
    boxSizing: "border-box", border: `2px solid ${TAP_COLOUR}`, pointerEvents: "none",
  });
  return b;
}

/** An <img> bound to a Bytes trait with layers on top for numbers and outlines (in % of it). */
function overlaid(img: HTMLElement): { wrap: HTMLElement; layer: HTMLElement; numbers: HTMLElement } {
  const cover = (el: HTMLElement) => {
    Object.assign(el.style, { position: "absolute", inset: "0", pointerEvents: "none" });
    return el;
  };
  const numbers = cover(h("div", { class: "cnnw-numbers" }));
  const layer = cover(h("div", { class: "cnnw-overlay" }));
  const wrap = h("div", {}, img, numbers, layer);
  // fit-content: inside a flex column the wrapper would stretch to the caption's width, and the
  // overlays (in % of the wrapper) would no longer line up with the picture's pixels.
  Object.assign(wrap.style, { position: "relative", display: "inline-block", lineHeight: "0",
    width: "fit-content", alignSelf: "flex-start" });
  return { wrap, layer, numbers };
}

function dims(v: unknown): [number, number] {
  return Array.isArray(v) && v.length === 2 ? [Number(v[0]), Number(v[1])] : [0, 0];
}

function drawTaps(model: WidgetModel, layer: HTMLElement): void {
  layer.replaceChildren();
  const cell = model.get("cell") ?? {};
  const shapes = model.get("shapes") ?? {};
  const [ph, pw] = dims(shapes.padded);
  const pad = Number(model.get("padding") ?? 0);
  const rows: number[][] = cell.rows ?? [];
  const cols: number[][] = cell.cols ?? [];
  if (ph <= 0 || pw <= 0) return;
  rows.forEach((row, i) => row.forEach((r, j) => {
    const c = cols[i]?.[j];
    if (c === undefined) return;
    layer.append(box(((c + pad) / pw) * 100, ((r + pad) / ph) * 100, 100 / pw, 100 / ph, "tap"));
  }));
}

function drawCell(model: WidgetModel, layer: HTMLElement): void {
  layer.replaceChildren();
  const cell = model.get("cell") ?? {};
  const [oh, ow] = dims((model.get("shapes") ?? {}).output);
  if (oh <= 0 || ow <= 0 || cell.row === undefined) return;
  layer.append(box((cell.col / ow) * 100, (cell.row / oh) * 100, 100 / ow, 100 / oh, "current-cell"));
}

/** Writes each value in the middle of its pixel (the kernel sends values only for small grids). */
function drawValues(layer: HTMLElement, values: unknown, testid: string): void {
  layer.replaceChildren();
  if (!Array.isArray(values) || values.length === 0) return;
  const rows = values.length;
  values.forEach((row: unknown, i: number) => {
    if (!Array.isArray(row)) return;
    row.forEach((v: unknown, j: number) => {
      const t = h("div", { "data-testid": testid }, fmt(v));
      Object.assign(t.style, {
        position: "absolute", left: `${(j / row.length) * 100}%`, top: `${(i / rows) * 100}%`,
        width: `${100 / row.length}%`, height: `${100 / rows}%`, display: "flex",
        alignItems: "center", justifyContent: "center", lineHeight: "1", fontSize: "11px",
        color: "#fff", textShadow: "0 0 2px #000, 0 0 2px #000", pointerEvents: "none",
      });
      layer.append(t);
    });
  });
}

/** The kernel as a grid of number inputs; an edit sends the whole kernel back. */
function kernelEditor(model: WidgetModel, d: Disposer): HTMLElement {
  const table = h("table", { class: "cnnw-kernel", "data-testid": "kernel" });
  table.style.borderCollapse = "collapse";
  let shape = "";
  const inputs: HTMLInputElement[][] = [];
  const send = () => {
    const k = inputs.map((row) => row.map((inp) => (inp.value.trim() === "" || Number.isNaN(Number(inp.value))
      ? inp.value : Number(inp.value))));
    setTrait(model, "kernel", k);
  };
  const sync = () => {
    const k: unknown[][] = model.get("kernel") ?? [];
    const now = k.map((r) => r.length).join(",");
    if (now !== shape) {
      shape = now;
      table.replaceChildren();
      inputs.length = 0;
      k.forEach((row, i) => {
        const tr = h("tr");
        inputs.push(row.map((_, j) => {
          const inp = h("input", { type: "number", step: "any", "data-testid": `kernel-${i}-${j}`,
            "aria-label": `kernel weight row ${i} column ${j}` });
          inp.style.width = "4.5em";
          d.dom(inp, "change", send);
          // JupyterLab's notebook shortcuts would otherwise take the keys typed here.
          d.dom(inp, "keydown", (e: KeyboardEvent) => e.stopPropagation());
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

/** value x weight for every tap of the current cell, then the sum. */
function arithmetic(model: WidgetModel, d: Disposer): HTMLElement {
  const table = h("table", { class: "cnnw-arithmetic cnnw-mono", "data-testid": "arithmetic" });
  table.style.borderCollapse = "collapse";
  const total = h("div", { class: "cnnw-caption", "data-testid": "cell-total" });
  const wrap = h("div", {}, table, total);
  const sync = () => {
    const cell = model.get("cell") ?? {};
    const values: number[][] = cell.values ?? [];
    const weights: number[][] = cell.weights ?? [];
    const inside: boolean[][] = cell.inside ?? [];
    table.replaceChildren();
    values.forEach((row, i) => {
      const tr = h("tr");
      row.forEach((v, j) => {
        const td = h("td", { title: `= ${fmt(cell.products?.[i]?.[j])}` },
          `${fmt(v)}×${fmt(weights[i]?.[j])}`);
        Object.assign(td.style, { padding: "2px 6px", border: "1px solid var(--cnnw-border, #ddd)",
          textAlign: "right", opacity: inside[i]?.[j] === false ? "0.45" : "1" });
        tr.append(td);
      });
      table.append(tr);
    });
    total.textContent = cell.row === undefined ? ""
      : `output[${cell.row}, ${cell.col}] = sum of these products = ${fmt(cell.total)}`;
  };
  d.listen(model, "cell", sync);
  sync();
  return wrap;
}

function stepper(model: WidgetModel, d: Disposer): HTMLElement {
  const count = () => Number(model.get("position_max") ?? 0) + 1;
  const move = (n: number) => {
    const c = Math.max(count(), 1);
    setTrait(model, "position", (((Number(model.get("position") ?? 0) + n) % c) + c) % c);
  };
  const prev = h("button", { type: "button", class: "cnnw-button", "data-testid": "prev" }, "◀ Previous");
  const play = h("button", { type: "button", class: "cnnw-button", "data-testid": "play" }, "Play");
  const next = h("button", { type: "button", class: "cnnw-button", "data-testid": "next" }, "Next ▶");
  let timer: ReturnType<typeof setInterval> | undefined;
  const pause = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    play.textContent = "Play";
  };
  d.dom(prev, "click", () => { pause(); move(-1); });
  d.dom(next, "click", () => { pause(); move(1); });
  d.dom(play, "click", () => {
    if (timer !== undefined) return pause();
    play.textContent = "Pause";
    timer = setInterval(() => move(1), 400);
  });
  d.add(pause);
  return h("div", { class: "cnnw-buttons" }, prev, play, next,
    slider(model, "position", { label: "Position", min: 0, maxTrait: "position_max" }, d));
}

function render({ model, el }: RenderProps): () => void {
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
    uploadButton(model, d),
  );

  const input = overlaid(imageView(model, "input_view", { alt: "padded input", pixelated: true }, d));
  const output = overlaid(imageView(model, "view", {
    alt: "output", pixelated: true,
    onClick: (x, y) => {
      const [oh, ow] = dims((model.get("shapes") ?? {}).output);
      if (oh > 0 && ow > 0) {
        setTrait(model, "position", Math.min(Math.floor(y * oh), oh - 1) * ow
          + Math.min(Math.floor(x * ow), ow - 1));
      }
    },
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

  const caption = (text: string) => h("figcaption", { class: "cnnw-caption" }, text);
  f.body.append(
    figure(caption("input (padding in blue, the kernel's taps in orange)"), input.wrap),
    figure(caption("kernel (edit a weight, or pick one above)"), kernelEditor(model, d)),
    figure(caption("output (click a cell)"), output.wrap),
  );
  f.root.append(
    stepper(model, d),
    figure(caption("one output cell: input value × weight at each tap"), arithmetic(model, d),
      textView(model, "equation", d, "cnnw-caption cnnw-mono")),
    figure(caption("output size"), textView(model, "formula", d, "cnnw-caption cnnw-mono")),
  );
  return () => d.dispose();
}

export default { render };

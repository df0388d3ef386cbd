// ActivationGridViewer: layer picker, number of NMF groups, steps, size and seed; Start / Stop
// with progress; the photo with the layer's grid over it and the mosaic of the cells'
// visualizations (hover a cell to read its position and, after a short rest, choose it; click
// to choose it at once); the chosen cell enlarged; the groups as coloured overlays and a strip
// of their visualizations.
import {
  Disposer, RenderProps, WidgetModel, figure, frame, h, imageView, progressBar, select, setTrait,
  slider, startStop, textView,
} from "../components";

/** Milliseconds the pointer rests on a cell before hovering chooses it. Passing over cells on
 * the way to the enlarged picture must not change the choice. */
export const HOVER_DWELL_MS = 250;

/** The [row, col] under (x, y), fractions of a picture split into the `grid_layout` trait's
 * nrows x ncols equal cells; undefined without a grid. */
export function cellAt(layout: any, x: number, y: number): [number, number] | undefined {
  const nrows = Math.floor(Number(layout?.nrows ?? 0));
  const ncols = Math.floor(Number(layout?.ncols ?? 0));
  if (!(nrows > 0 && ncols > 0) || !Number.isFinite(x) || !Number.isFinite(y)) return undefined;
  if (x < 0 || x > 1 || y < 0 || y > 1) return undefined;
  return [Math.min(Math.floor(y * nrows), nrows - 1), Math.min(Math.floor(x * ncols), ncols - 1)];
}

function sameCell(a: any, b: [number, number]): boolean {
  return Array.isArray(a) && Number(a[0]) === b[0] && Number(a[1]) === b[1];
}

/** Hover and click on a grid picture: the readout follows the pointer, a rest of
 * HOVER_DWELL_MS or a click sets the `cell` trait. */
export function cellPicker(model: WidgetModel, img: HTMLElement, readout: HTMLElement,
                           d: Disposer): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const choose = (cell: [number, number]) => {
    cancel();
    if (!sameCell(model.get("cell"), cell)) setTrait(model, "cell", cell);
  };
  const at = (e: MouseEvent): [number, number] | undefined => {
    const r = img.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return undefined;
    return cellAt(model.get("grid_layout"), (e.clientX - r.left) / r.width,
      (e.clientY - r.top) / r.height);
  };
  let shown: string | undefined;
  d.dom(img, "mousemove", (e: MouseEvent) => {
    const cell = at(e);
    if (!cell) return;
    const key = `${cell[0]},${cell[1]}`;
    if (key === shown) return;  // same cell: keep the pending choice
    shown = key;
    readout.textContent = `pointer: row ${cell[0]} · col ${cell[1]}`;
    cancel();
    timer = setTimeout(() => choose(cell), HOVER_DWELL_MS);
  });
  d.dom(img, "mouseleave", () => {
    cancel();
    shown = undefined;
    readout.textContent = "";
  });
  d.dom(img, "click", (e: MouseEvent) => {
    const cell = at(e);
    if (cell) choose(cell);
  });
  d.add(cancel);
}

function cellText(model: WidgetModel): string {
  const c = model.get("cell");
  return Array.isArray(c) && c.length === 2 ? `cell: row ${c[0]} · col ${c[1]}` : "";
}

function render({ model, el }: RenderProps): () => void {
  const d = new Disposer();
  const f = frame(model, el, "activation-grid-viewer", d);
  f.controls.append(
    select(model, "layer", { label: "Layer" }, d),
    slider(model, "n_groups", { label: "Groups", min: 0, maxTrait: "n_groups_max" }, d),
    slider(model, "steps", { label: "Steps", min: 8, max: 1024, step: 8 }, d),
    select(model, "size", { label: "Size", options: [32, 48, 64, 96, 128] }, d),
    slider(model, "seed", { label: "Seed", min: 0, max: 99 }, d),
    startStop(model, d),
  );

  const readout = h("span", { class: "cnnw-status", "data-testid": "hover" });
  const chosen = h("span", { class: "cnnw-status", "data-testid": "cell" });
  const syncCell = () => { chosen.textContent = cellText(model); };
  d.listen(model, "cell", syncCell);
  syncCell();

  const view = imageView(model, "view", { alt: "photo with the layer's grid" }, d);
  const cells = imageView(model, "mosaic", { alt: "visualization of every cell" }, d);
  for (const img of [view, cells]) {
    img.classList.add("cnnw-clickable");
    cellPicker(model, img, readout, d);
  }
  const detail = imageView(model, "detail", { alt: "the chosen cell's visualization" }, d);
  const groups = imageView(model, "groups", { alt: "NMF groups over the photo" }, d);
  const strip = imageView(model, "strip", { alt: "visualization of every group" }, d);

  f.body.append(
    h("div", { class: "cnnw-agrid-progress" }, progressBar(model, d)),
    figure(h("div", { class: "cnnw-caption" }, chosen, " ", readout), view),
    figure(h("div", { class: "cnnw-caption" }, "every cell, visualised"), cells),
    figure(textView(model, "caption", d), detail),
    figure(h("div", { class: "cnnw-caption" }, "NMF groups"), groups),
    figure(h("div", { class: "cnnw-caption" }, "each group: visualization, colour, map"), strip),
  );
  return () => d.dispose();
}

export default { render };

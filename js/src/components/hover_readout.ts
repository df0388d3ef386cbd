// Hover readout: the value under the pointer on a picture of a map ("activation at x 3, y 5:
// 0.412"). The picture is only colours; the kernel sends the numbers behind it in a Dict trait
// made by cnnwidgets.render.images.readout:
//   {label, size: [H, W] (the map's own resolution, for positions),
//    shape: [h, w] (of `values`; smaller than size when the kernel averaged blocks),
//    values: float32 little-endian bytes, row by row}
// Attach it to any <img> that shows such a map (activations, CAM, saliency): the picture may be
// scaled in any way, positions are read as fractions of its box.
import { Disposer, WidgetModel, h } from "./model";
import { Binary, toBytes } from "./image_view";

export interface Readout {
  label: string;
  size: [number, number];
  shape: [number, number];
  values: DataView;
}

function pair(v: unknown): [number, number] | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const a = Math.floor(Number(v[0]));
  const b = Math.floor(Number(v[1]));
  return a > 0 && b > 0 ? [a, b] : undefined;
}

/** The trait's value checked and ready to read, or undefined when it holds no usable map. */
export function decodeReadout(raw: any): Readout | undefined {
  const size = pair(raw?.size);
  const shape = pair(raw?.shape) ?? size;
  if (!size || !shape) return undefined;
  // A copy: the DataView may point into a buffer that ipywidgets reuses.
  const bytes = toBytes(raw?.values as Binary).slice();
  if (bytes.byteLength < shape[0] * shape[1] * 4) return undefined;
  return { label: String(raw?.label ?? "value"), size, shape, values: new DataView(bytes.buffer) };
}

export interface Reading {
  /** position in the map's own resolution */
  x: number;
  y: number;
  value: number;
}

/** The reading at (fx, fy), fractions of the picture's width and height. */
export function readAt(r: Readout, fx: number, fy: number): Reading | undefined {
  if (!(fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1)) return undefined;
  const cell = (f: number, n: number) => Math.min(Math.floor(f * n), n - 1);
  const [H, W] = r.size;
  const [sh, sw] = r.shape;
  const value = r.values.getFloat32((cell(fy, sh) * sw + cell(fx, sw)) * 4, true);
  return { x: cell(fx, W), y: cell(fy, H), value };
}

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}

export function readingText(label: string, r: Reading): string {
  return `${label} at x ${r.x}, y ${r.y}: ${formatValue(r.value)}`;
}

/** Shows the value under the pointer on `target` in the returned line (empty when the
 * pointer is elsewhere). `name`: the Dict trait with the numbers. */
export function hoverReadout(model: WidgetModel, target: HTMLElement, name: string, d: Disposer,
                             testid = `${name}-hover`): HTMLElement {
  const line = h("div", { class: "cnnw-caption cnnw-readout", "data-testid": testid,
    "aria-live": "off" });
  let readout = decodeReadout(model.get(name));
  let last: [number, number] | undefined;
  const show = () => {
    if (!readout || !last) {
      line.textContent = "";
      return;
    }
    const r = readAt(readout, last[0], last[1]);
    line.textContent = r ? readingText(readout.label, r) : "";
  };
  d.dom(target, "mousemove", (e: MouseEvent) => {
    const box = target.getBoundingClientRect();
    if (box.width <= 0 || box.height <= 0) return;
    last = [(e.clientX - box.left) / box.width, (e.clientY - box.top) / box.height];
    show();
  });
  d.dom(target, "mouseleave", () => {
    last = undefined;
    show();
  });
  // New numbers (another channel, a new image) under a pointer that stays: read them again.
  d.listen(model, name, () => {
    readout = decodeReadout(model.get(name));
    show();
  });
  return line;
}

// Shows PNG/JPEG bytes from a Bytes trait. ipywidgets delivers binary traits as a DataView
// (sometimes an ArrayBuffer or typed array); they become a Blob URL on an <img>, which the
// browser decodes off the main thread. A click reports where, as fractions of the picture.
import { Disposer, WidgetModel, h } from "./model";

export type Binary = DataView | ArrayBuffer | Uint8Array | null | undefined;

export function toBytes(data: Binary): Uint8Array {
  if (!data) return new Uint8Array(0);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(0);
}

/** "image/png", "image/jpeg", or "" when the bytes are neither. */
export function sniffMime(bytes: Uint8Array): string {
  if (bytes.length >= 4 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47)
    return "image/png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  return "";
}

export interface ImageViewOptions {
  testid?: string;
  alt?: string;
  /** called with (x, y) in [0, 1] of the picture's width and height */
  onClick?: (x: number, y: number) => void;
  /** crisp pixels when scaled up (filters, feature maps) */
  pixelated?: boolean;
}

export function imageView(model: WidgetModel, name: string, opts: ImageViewOptions,
                          d: Disposer): HTMLImageElement {
  const img = h("img", {
    class: "cnnw-image" + (opts.pixelated ? " cnnw-pixelated" : ""),
    "data-testid": opts.testid ?? name,
    alt: opts.alt ?? name,
    draggable: "false",
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
    // Copy: the DataView may point into a buffer that ipywidgets reuses.
    url = URL.createObjectURL(new Blob([bytes.slice()], { type: mime }));
    img.src = url;
    img.dataset.empty = "false";
    img.dataset.mime = mime;
    img.dataset.bytes = String(bytes.length);
  };
  if (opts.onClick) {
    const onClick = opts.onClick;
    img.classList.add("cnnw-clickable");
    d.dom(img, "click", (e: MouseEvent) => {
      const r = img.getBoundingClientRect();
      if (r.width <= 0 || r.height <= 0) return;
      onClick(Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1),
        Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1));
    });
  }
  d.listen(model, name, draw);
  d.add(release);
  draw();
  return img;
}

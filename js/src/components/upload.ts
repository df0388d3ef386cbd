// Image upload by file picker or by dropping a file on the widget. The file goes to the kernel
// as a binary buffer with an "upload" action; the kernel decides whether it is an image and
// reports a non-image through the `error` trait.
//
// Big pictures are made smaller here first. A comm message travels in one websocket frame, and
// Jupyter's server drops the connection on frames over its limit (10 MiB by default): a 60 MB
// photo used to kill the widget's connection without a word. So:
//   - a file over MAX_FILE_BYTES is refused before it is read, with a message in the banner;
//   - a picture whose long side exceeds MAX_SIDE, or whose file exceeds SEND_BYTES, is decoded
//     in the browser, drawn at most MAX_SIDE pixels on its long side and sent as a JPEG (a
//     model sees 224 pixels; 2048 leave room for any crop);
//   - anything the browser cannot decode is sent as it is when small enough (the kernel's
//     reader knows more formats and writes the error), refused otherwise;
//   - whatever is sent stays under SEND_BYTES.
import { Disposer, WidgetModel, action, h, setTrait } from "./model";

export const MAX_FILE_BYTES = 50 * 1024 * 1024;
export const MAX_SIDE = 2048;
export const SEND_BYTES = 8 * 1024 * 1024;
const JPEG_QUALITY = 0.92;

export function megabytes(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** Width and height within `maxSide` on the long side, aspect ratio kept (never enlarged). */
export function fitWithin(width: number, height: number, maxSide = MAX_SIDE): [number, number] {
  const long = Math.max(width, height);
  if (!(long > maxSide)) return [width, height];
  const s = maxSide / long;
  return [Math.max(1, Math.round(width * s)), Math.max(1, Math.round(height * s))];
}

export type Plan =
  | { kind: "refuse"; message: string }
  | { kind: "send" }
  | { kind: "shrink"; width: number; height: number };

function tooBig(name: string, bytes: number): string {
  return `${name} is ${megabytes(bytes)}: files over ${megabytes(MAX_FILE_BYTES)} are not `
    + `uploaded. Save the picture smaller (a model sees a few hundred pixels), or pass its path `
    + `to set_image() in Python.`;
}

/** What to do with a file of `bytes` whose picture (when the browser could decode it) is
 * `size` = [width, height]. */
export function planUpload(name: string, bytes: number, size: [number, number] | null): Plan {
  if (bytes > MAX_FILE_BYTES) return { kind: "refuse", message: tooBig(name, bytes) };
  if (size === null) {
    if (bytes <= SEND_BYTES) return { kind: "send" };
    return { kind: "refuse", message: `${name} (${megabytes(bytes)}) is not a picture this `
      + `browser can read, and too big to send as it is (over ${megabytes(SEND_BYTES)}). `
      + `Convert it to PNG or JPEG, or pass its path to set_image() in Python.` };
  }
  const [w, h] = size;
  if (Math.max(w, h) <= MAX_SIDE && bytes <= SEND_BYTES) return { kind: "send" };
  const [width, height] = fitWithin(w, h);
  return { kind: "shrink", width, height };
}

/** Decoding and drawing, which need a real browser (a canvas); tests pass a fake one. */
export interface Codec {
  /** The picture's size and a handle to draw it, or null when it is no picture we can read. */
  decode(file: Blob): Promise<{ width: number; height: number; source: CanvasImageSource;
    close?: () => void } | null>;
  /** `source` drawn at width x height, as JPEG bytes. */
  encode(source: CanvasImageSource, width: number, height: number): Promise<Blob>;
}

export const browserCodec: Codec = {
  async decode(file) {
    if (typeof createImageBitmap !== "function") return null;
    try {
      const bitmap = await createImageBitmap(file);
      return { width: bitmap.width, height: bitmap.height, source: bitmap,
        close: () => bitmap.close() };
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
    // JPEG has no transparency: transparent parts become white, as on a page.
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(source, 0, 0, width, height);
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob(
      (b) => (b ? resolve(b) : reject(new Error("the picture could not be encoded"))),
      "image/jpeg", JPEG_QUALITY));
  },
};

export interface Prepared {
  name: string;
  mime: string;
  buffer: ArrayBuffer;
  /** [width, height] before and after, when the picture was made smaller */
  resized?: { from: [number, number]; to: [number, number] };
}

export class UploadRefused extends Error {}

/** The bytes to send for `file` (made smaller when needed); throws UploadRefused with the
 * message to show when the file cannot be sent. */
export async function prepareUpload(file: File, codec: Codec = browserCodec,
                                    onStatus: (text: string) => void = () => {}): Promise<Prepared> {
  // Refused before reading: reading 60 MB only to refuse them would freeze the page.
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
      throw new UploadRefused(`${file.name} is still ${megabytes(blob.size)} at `
        + `${plan.width}×${plan.height} pixels; save it smaller and upload it again.`);
    }
    return {
      name: file.name, mime: "image/jpeg", buffer: await blob.arrayBuffer(),
      resized: { from: [picture.width, picture.height], to: [plan.width, plan.height] },
    };
  } finally {
    picture?.close?.();
  }
}

/** Prepares `file` and sends it with an "upload" action, or shows why it cannot be sent in the
 * error banner (the connection to the kernel is never put at risk). */
export async function sendFile(model: WidgetModel, file: File, codec: Codec = browserCodec,
                               onStatus: (text: string) => void = () => {}): Promise<void> {
  let prepared: Prepared;
  try {
    prepared = await prepareUpload(file, codec, onStatus);
  } catch (e) {
    const msg = e instanceof UploadRefused ? e.message
      : `${file.name} could not be read in the browser: ${e instanceof Error ? e.message : e}`;
    setTrait(model, "error", msg);
    return;
  } finally {
    onStatus("");
  }
  const extra: Record<string, unknown> = { name: prepared.name, mime: prepared.mime };
  if (prepared.resized) extra.resized = prepared.resized;
  action(model, "upload", extra, [prepared.buffer]);
}

export function uploadButton(model: WidgetModel, d: Disposer, label = "Upload image"): HTMLElement {
  const input = h("input", { type: "file", accept: "image/*", "data-testid": "upload",
    class: "cnnw-file" });
  // What the browser is doing with a big picture before it is sent (decoding, shrinking).
  const status = h("span", { class: "cnnw-status", "data-testid": "upload-status" });
  d.dom(input, "change", () => {
    const file = input.files?.[0];
    if (file) void sendFile(model, file, browserCodec, (t) => { status.textContent = t; });
    input.value = "";
  });
  return h("label", { class: "cnnw-field cnnw-upload" }, h("span", { class: "cnnw-label" }, label),
    input, status);
}

/** Makes `target` accept dropped files; shows a highlight while a file is dragged over it. */
export function dropZone(model: WidgetModel, target: HTMLElement, d: Disposer): void {
  target.dataset.dropzone = "true";
  d.dom(target, "dragover", (e: DragEvent) => {
    e.preventDefault();
    target.classList.add("cnnw-dragover");
  });
  d.dom(target, "dragleave", () => target.classList.remove("cnnw-dragover"));
  d.dom(target, "drop", (e: DragEvent) => {
    e.preventDefault();
    target.classList.remove("cnnw-dragover");
    const file = e.dataTransfer?.files?.[0];
    if (file) void sendFile(model, file);
  });
}

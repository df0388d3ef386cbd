// Image upload by file picker or by dropping a file on the widget. The file's bytes go to the
// kernel as a binary buffer with an "upload" action; the kernel decides whether it is an image
// and reports a non-image through the `error` trait.
import { Disposer, WidgetModel, action, h } from "./model";

export async function sendFile(model: WidgetModel, file: File): Promise<void> {
  const buffer = await file.arrayBuffer();
  action(model, "upload", { name: file.name, mime: file.type }, [buffer]);
}

export function uploadButton(model: WidgetModel, d: Disposer, label = "Upload image"): HTMLElement {
  const input = h("input", { type: "file", accept: "image/*", "data-testid": "upload",
    class: "cnnw-file" });
  d.dom(input, "change", () => {
    const file = input.files?.[0];
    if (file) void sendFile(model, file);
    input.value = "";
  });
  return h("label", { class: "cnnw-field cnnw-upload" }, h("span", { class: "cnnw-label" }, label), input);
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

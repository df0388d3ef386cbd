// The frame every widget shares: a themed root, a row of controls, the picture area, the error
// banner on top. Widgets compose these with the controls they need.
import { Disposer, WidgetModel, h } from "./model";
import { errorBanner } from "./error_banner";

export interface Frame {
  root: HTMLElement;
  controls: HTMLElement;
  body: HTMLElement;
}

export function frame(model: WidgetModel, el: HTMLElement, kind: string, d: Disposer): Frame {
  const controls = h("div", { class: "cnnw-controls" });
  const body = h("div", { class: "cnnw-body" });
  const root = h("div", { class: `cnnw cnnw-${kind}`, "data-widget": kind },
    errorBanner(model, d), controls, body);
  el.append(root);
  d.add(() => root.remove());
  // A recompute in the kernel dims the pictures until the new one arrives.
  const busy = () => root.classList.toggle("cnnw-busy", Boolean(model.get("busy")));
  d.listen(model, "busy", busy);
  busy();
  return { root, controls, body };
}

export function figure(caption: HTMLElement | null, ...children: Node[]): HTMLElement {
  const f = h("figure", { class: "cnnw-figure" }, ...children);
  if (caption) f.append(caption);
  return f;
}

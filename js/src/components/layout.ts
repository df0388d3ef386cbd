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
  keepKeys(root, d);
  // A recompute in the kernel dims the pictures until the new one arrives.
  const busy = () => root.classList.toggle("cnnw-busy", Boolean(model.get("busy")));
  d.listen(model, "busy", busy);
  busy();
  return { root, controls, body };
}

/** Keys pressed in a control of `root` are for that control, not for the notebook's shortcuts.
 * JupyterLab hands keydown to its shortcuts as the event bubbles, so a control that stops
 * propagation keeps its keys; Jupyter Notebook 7 takes keydown on the way down (the capture
 * phase, on the document), before the control sees it: arrow keys on a slider moved the active
 * cell instead. A listener on the window in the capture phase runs before both, so a control
 * keeps its keys in either front end, as the components' own stopPropagation does in JupyterLab. */
export function keepKeys(root: HTMLElement, d: Disposer): void {
  d.dom(window, "keydown", (e: KeyboardEvent) => {
    const t = e.target;
    if (!(t instanceof Element) || t === root || !root.contains(t)) return;
    if (t.matches("input, select, textarea, button, summary, [contenteditable]")) {
      e.stopPropagation();
    }
  }, true);
}

export function figure(caption: HTMLElement | null, ...children: Node[]): HTMLElement {
  const f = h("figure", { class: "cnnw-figure" }, ...children);
  if (caption) f.append(caption);
  return f;
}

// A progress bar (trait in [0, 1]) with a status line (step, loss, images scanned, ...).
import { Disposer, WidgetModel, h } from "./model";

export function progressBar(model: WidgetModel, d: Disposer, valueTrait = "progress",
                            textTrait = "status"): HTMLElement {
  const bar = h("progress", { "data-testid": valueTrait, max: "1", value: "0" });
  const text = h("span", { class: "cnnw-status", "data-testid": textTrait });
  const wrap = h("div", { class: "cnnw-progress" }, bar, text);
  const sync = () => {
    const v = Number(model.get(valueTrait) ?? 0);
    bar.value = Math.min(Math.max(v, 0), 1);
    text.textContent = String(model.get(textTrait) ?? "");
  };
  d.listen(model, valueTrait, sync);
  d.listen(model, textTrait, sync);
  sync();
  return wrap;
}

/** What a recompute in the kernel is doing (the `busy`, `busy_progress` and `busy_label`
 *  traits): a bar and a line over the pictures while it runs. Indeterminate until the engine
 *  reports a first fraction (methods done in one pass never do). */
export function busyBar(model: WidgetModel, d: Disposer): HTMLElement {
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

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

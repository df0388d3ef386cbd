// A line of text that follows a trait (captions, predictions, weights of a filter).
import { Disposer, WidgetModel, h } from "./model";

export function textView(model: WidgetModel, name: string, d: Disposer, cls = "cnnw-caption",
                         testid = name): HTMLElement {
  const el = h("div", { class: cls, "data-testid": testid });
  const sync = () => {
    el.textContent = String(model.get(name) ?? "");
  };
  d.listen(model, name, sync);
  sync();
  return el;
}

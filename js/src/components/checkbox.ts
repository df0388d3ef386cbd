// A labelled checkbox bound to a boolean trait.
import { Disposer, WidgetModel, h, setTrait } from "./model";

export function checkbox(model: WidgetModel, name: string, label: string, d: Disposer,
                         testid = name): HTMLElement {
  const input = h("input", { type: "checkbox", "data-testid": testid, "aria-label": label });
  const sync = () => { input.checked = Boolean(model.get(name)); };
  d.dom(input, "change", () => setTrait(model, name, input.checked));
  d.listen(model, name, sync);
  sync();
  return h("label", { class: "cnnw-field" }, input, h("span", { class: "cnnw-label" }, label));
}

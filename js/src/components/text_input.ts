// A labelled one-line text field bound to a string trait; the kernel hears it on Enter or blur.
import { Disposer, WidgetModel, h, setTrait } from "./model";

export function textInput(model: WidgetModel, name: string, label: string, d: Disposer,
                          placeholder = ""): HTMLElement {
  const input = h("input", { type: "text", "data-testid": name, "aria-label": label, placeholder });
  const sync = () => { input.value = String(model.get(name) ?? ""); };
  d.dom(input, "change", () => setTrait(model, name, input.value));
  // Typing in the field must not trigger JupyterLab's notebook shortcuts.
  d.dom(input, "keydown", (e: KeyboardEvent) => e.stopPropagation());
  d.listen(model, name, sync);
  sync();
  return h("label", { class: "cnnw-field" }, h("span", { class: "cnnw-label" }, label), input);
}

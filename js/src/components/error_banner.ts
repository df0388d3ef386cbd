// Shows the `error` trait as a banner (hidden when empty); the close button clears it.
import { Disposer, WidgetModel, h, setTrait } from "./model";

export function errorBanner(model: WidgetModel, d: Disposer): HTMLElement {
  const text = h("span", { class: "cnnw-error-text" });
  const close = h("button", { type: "button", class: "cnnw-error-close", "aria-label": "dismiss",
    "data-testid": "error-dismiss" }, "\u00d7");
  const banner = h("div", { class: "cnnw-error", role: "alert", "data-testid": "error" }, text, close);
  const sync = () => {
    const msg = String(model.get("error") ?? "");
    text.textContent = msg;
    banner.hidden = msg === "";
  };
  d.dom(close, "click", () => setTrait(model, "error", ""));
  d.listen(model, "error", sync);
  sync();
  return banner;
}

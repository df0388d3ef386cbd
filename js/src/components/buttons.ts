// Start / Stop buttons for background work. They send actions rather than set traits (an action
// is not state), and follow the `running` trait: Start is disabled while running, Stop when not.
import { Disposer, WidgetModel, action, h } from "./model";

export function button(model: WidgetModel, type: string, label: string, d: Disposer,
                       testid = type): HTMLButtonElement {
  const b = h("button", { type: "button", class: "cnnw-button", "data-testid": testid }, label);
  d.dom(b, "click", () => action(model, type));
  return b;
}

export function startStop(model: WidgetModel, d: Disposer, labels = { start: "Start", stop: "Stop" })
    : HTMLElement {
  const start = button(model, "start", labels.start, d);
  start.classList.add("cnnw-primary");
  const stop = button(model, "stop", labels.stop, d);
  const sync = () => {
    const running = Boolean(model.get("running"));
    start.disabled = running;
    stop.disabled = !running;
  };
  d.listen(model, "running", sync);
  sync();
  return h("div", { class: "cnnw-buttons" }, start, stop);
}

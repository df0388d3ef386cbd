// AtlasViewer: a layer picker, a search box, Back and "All channels"; the layer's channels as
// one page of thumbnails (click one for its page, turn pages with the pager or the arrow keys);
// a channel's six-column figure beside its strongest inputs, each a link to that input's page.
// The kernel owns every move (it checks the place, keeps the history for Back and sends only
// the page shown); the view sends clicks and keys as traits or actions.
import {
  Disposer, RenderProps, WidgetModel, action, button, figure, frame, gridClick, h, imageView,
  select, setTrait, slider, sniffMime, textInput, textView, tileAt, toBytes,
} from "../components";

/** Keys that move through the atlas: previous / next channel (on the grid: page). */
export const STEP_KEYS: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1 };

const onChannel = (model: WidgetModel) => Number(model.get("channel") ?? -1) >= 0;

/** Arrow keys in the widget move through the atlas. Propagation stops, or JupyterLab's
 * notebook shortcuts would take them; text fields and pickers keep their own keys (they stop
 * propagation before the event gets here). */
export function stepKeys(model: WidgetModel, root: HTMLElement, d: Disposer): void {
  // On the window in the capture phase, like keepKeys (layout.ts): its stopPropagation there,
  // for a focused button of this widget, would keep the keys from a listener on the root.
  d.dom(window, "keydown", (e: KeyboardEvent) => {
    const delta = STEP_KEYS[e.key];
    if (delta === undefined || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const target = e.target as HTMLElement | null;
    if (!(target instanceof Node) || !root.contains(target)) return;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName)) return;
    e.preventDefault();
    e.stopPropagation();
    action(model, "step", { delta });
  }, true);
}

function weightText(w: number): string {
  const s = Math.abs(w) >= 0.01 ? w.toFixed(3) : w.toPrecision(2);
  return w > 0 ? `+${s}` : s.replace("-", "\u2212");
}

/** The channel's inputs as buttons (thumbnail, channel, signed weight); a click opens that
 * input's page. Rebuilt when the `connections` trait changes. */
export function connectionList(model: WidgetModel, after: () => void, d: Disposer): HTMLElement {
  const list = h("div", { class: "cnnw-atlas-connections", "data-testid": "connections" });
  let inner = new Disposer();
  d.add(() => inner.dispose());
  const draw = () => {
    inner.dispose();
    inner = new Disposer();
    list.replaceChildren();
    for (const c of (model.get("connections") ?? []) as any[]) {
      const weight = Number(c.weight);
      const img = h("img", { class: "cnnw-atlas-thumb", alt: `${c.layer} channel ${c.channel}`,
        draggable: "false" });
      const bytes = toBytes(c.png);
      const mime = sniffMime(bytes);
      if (mime && typeof URL.createObjectURL === "function") {
        const url = URL.createObjectURL(new Blob([bytes.slice()], { type: mime }));
        img.src = url;
        inner.add(() => URL.revokeObjectURL(url));
      }
      const item = h("button", {
        type: "button", class: "cnnw-atlas-connection", "data-testid": "connection",
        "data-layer": String(c.layer), "data-channel": String(c.channel),
        title: `${c.layer} : channel ${c.channel}, weight ${weightText(weight)}`,
      }, img, h("span", { class: "cnnw-atlas-channel" }, String(c.channel)),
      h("span", { class: `cnnw-atlas-weight ${weight > 0 ? "cnnw-pos" : "cnnw-neg"}` },
        weightText(weight)));
      inner.dom(item, "click", () => {
        action(model, "navigate", { layer: c.layer, channel: Number(c.channel) });
        after();
      });
      list.append(item);
    }
  };
  d.listen(model, "connections", draw);
  draw();
  return list;
}

function render({ model, el }: RenderProps): () => void {
  const d = new Disposer();
  const f = frame(model, el, "atlas-viewer", d);
  // Focusable, so that the arrow keys reach it after a click on the picture.
  f.root.tabIndex = 0;
  const focus = () => f.root.focus({ preventScroll: true });
  stepKeys(model, f.root, d);

  const back = button(model, "back", "\u2039 Back", d);
  const grid = button(model, "grid", "All channels", d);
  const syncBack = () => { back.disabled = ((model.get("history") ?? []) as any[]).length === 0; };
  d.listen(model, "history", syncBack);
  syncBack();

  const prev = h("button", { type: "button", class: "cnnw-button", "data-testid": "page-prev",
    "aria-label": "previous page" }, "\u2039");
  const next = h("button", { type: "button", class: "cnnw-button", "data-testid": "page-next",
    "aria-label": "next page" }, "\u203a");
  const turn = (delta: number) => {
    const page = Number(model.get("page") ?? 0) + delta;
    if (page >= 0 && page <= Number(model.get("page_max") ?? 0)) setTrait(model, "page", page);
  };
  d.dom(prev, "click", () => turn(-1));
  d.dom(next, "click", () => turn(1));
  const syncPager = () => {
    const page = Number(model.get("page") ?? 0);
    const last = Number(model.get("page_max") ?? 0);
    prev.disabled = page <= 0;
    next.disabled = page >= last;
  };
  d.listen(model, "page", syncPager);
  d.listen(model, "page_max", syncPager);
  syncPager();
  const pageSlider = slider(model, "page", {
    label: "Page", min: 0, maxTrait: "page_max",
    format: (v) => `${v + 1} / ${Number(model.get("page_max") ?? 0) + 1}`,
  }, d);
  const pager = h("span", { class: "cnnw-buttons cnnw-atlas-pager" }, prev, pageSlider, next);

  f.controls.append(
    select(model, "layer", { label: "Layer" }, d),
    textInput(model, "search", "Find", d, "12 or layer:12"),
    h("span", { class: "cnnw-buttons" }, back, grid),
    pager,
  );

  const readout = h("span", { class: "cnnw-status", "data-testid": "hover" });
  const view = imageView(model, "view", {
    alt: "the layer's channels, or the chosen channel's figure",
    onClick: gridClick(model, (c) => { setTrait(model, "channel", c); focus(); }),
  }, d);
  d.dom(view, "mousemove", (e: MouseEvent) => {
    const r = view.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return;
    const c = tileAt(model.get("grid_layout"), (e.clientX - r.left) / r.width,
      (e.clientY - r.top) / r.height);
    readout.textContent = c === undefined ? "" : `channel ${c}`;
  });
  d.dom(view, "mouseleave", () => { readout.textContent = ""; });

  const side = h("div", { class: "cnnw-atlas-side" },
    textView(model, "connections_title", d, "cnnw-caption"),
    connectionList(model, focus, d));
  f.body.append(
    figure(h("div", { class: "cnnw-caption" }, textView(model, "caption", d, "cnnw-atlas-caption"),
      readout), view),
    side,
  );

  // Grid or channel page: the pager and the clickable grid belong to the grid, Back to both.
  const mode = () => {
    const page = onChannel(model);
    f.root.dataset.mode = page ? "channel" : "grid";
    // one page only: nothing to turn
    pager.hidden = page || Number(model.get("page_max") ?? 0) === 0;
    grid.disabled = !page;
    side.hidden = !page;
    view.classList.toggle("cnnw-clickable", !page);
    if (page) readout.textContent = "";
  };
  d.listen(model, "channel", mode);
  d.listen(model, "page_max", mode);
  mode();
  return () => d.dispose();
}

export default { render };

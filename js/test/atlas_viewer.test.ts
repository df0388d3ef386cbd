// AtlasViewer: a click on a thumbnail opens that channel, the arrow keys step (and stop at the
// widget, out of JupyterLab's reach), connections and Back navigate, the search box sends its
// text, and the grid's controls give way to the connections on a channel page.
import { describe, expect, it } from "vitest";
import { FakeModel, PNG } from "./fake_model";
import atlas, { STEP_KEYS } from "../src/widgets/atlas_viewer";

const png = () => new DataView(PNG.buffer);

function state(extra: Record<string, any> = {}): Record<string, any> {
  return {
    view: png(), caption: "relu2: channels 0–9", busy: false,
    layer: "relu2", layer_options: [["relu1 (8 channels)", "relu1"], ["relu2 (10 channels)", "relu2"]],
    channel: -1, page: 0, page_max: 2, page_size: 4, search: "", history: [],
    grid_layout: { ncols: 2, nrows: 2, channels: [0, 1, 2, 3] },
    connections: [], connections_title: "", ...extra,
  };
}

function mount(extra: Record<string, any> = {}) {
  const model = new FakeModel(state(extra));
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = atlas.render({ model, el });
  const q = (id: string) => el.querySelector(`[data-testid="${id}"]`) as HTMLElement;
  const root = el.querySelector("[data-widget=atlas-viewer]") as HTMLElement;
  return {
    model, el, q, root, cleanup: () => {
      cleanup();
      el.remove();
    },
  };
}

// The picture on screen: 200 x 100 px at (10, 20).
function place(img: HTMLElement) {
  img.getBoundingClientRect = () => ({ left: 10, top: 20, width: 200, height: 100 }) as DOMRect;
}

function key(target: HTMLElement, k: string, init: KeyboardEventInit = {}): KeyboardEvent {
  const e = new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...init });
  target.dispatchEvent(e);
  return e;
}

const CONNECTIONS = [
  { layer: "relu1", channel: 5, weight: 0.25, png: png() },
  { layer: "relu1", channel: 2, weight: -0.125, png: png() },
];

describe("AtlasViewer", () => {
  it("has a control for every trait, named by data-testid, and cleans up", () => {
    const { model, el, q, cleanup } = mount();
    for (const id of ["layer", "search", "back", "grid", "page", "page-prev", "page-next", "view",
      "caption", "connections", "connections_title", "hover", "error"])
      expect(q(id), id).not.toBeNull();
    expect((q("layer").querySelector("select") ?? q("layer")).tagName).toBe("SELECT");
    cleanup();
    expect(el.children.length).toBe(0);
    expect(model.listenerCount()).toBe(0);
  });

  it("a click on a thumbnail opens that channel", () => {
    const { model, q, cleanup } = mount();
    const view = q("view");
    place(view);
    // x = (160 - 10) / 200 = 0.75 -> col 1; y = (90 - 20) / 100 = 0.7 -> row 1: tile 3
    view.dispatchEvent(new MouseEvent("mousemove", { clientX: 160, clientY: 90 }));
    expect(q("hover").textContent).toBe("channel 3");
    view.dispatchEvent(new MouseEvent("click", { clientX: 160, clientY: 90 }));
    expect(model.get("channel")).toBe(3);
    expect(model.saved.at(-1)).toEqual({ channel: 3 });
    cleanup();
  });

  it("on a channel page the picture is not a grid: clicks on it move nothing", () => {
    const { model, q, root, cleanup } = mount({ channel: 3, grid_layout: {} });
    expect(root.dataset.mode).toBe("channel");
    const view = q("view");
    place(view);
    view.dispatchEvent(new MouseEvent("click", { clientX: 160, clientY: 90 }));
    expect(model.saved).toEqual([]);
    cleanup();
  });

  it("the arrow keys step through the atlas and stop at the widget", () => {
    const { model, q, root, cleanup } = mount({ channel: 3, grid_layout: {} });
    let reachedNotebook = 0;
    const notebook = () => { reachedNotebook += 1; };
    document.body.addEventListener("keydown", notebook);
    const right = key(root, "ArrowRight");
    const left = key(q("view"), "ArrowLeft");  // from inside the widget too
    expect(model.sent.map((m) => m.content)).toEqual([
      { type: "step", delta: 1 }, { type: "step", delta: -1 },
    ]);
    expect(right.defaultPrevented && left.defaultPrevented).toBe(true);
    expect(reachedNotebook).toBe(0);
    // other keys, and arrows with a modifier, are left alone
    key(root, "a");
    key(root, "ArrowRight", { shiftKey: true });
    expect(model.sent.length).toBe(2);
    expect(reachedNotebook).toBe(2);
    // the search box keeps its arrows (moving the caret), and JupyterLab does not get them
    const input = q("search") as HTMLInputElement;
    key(input, "ArrowLeft");
    expect(model.sent.length).toBe(2);
    expect(reachedNotebook).toBe(2);
    // after a click on one of its buttons (Back, next page), the arrows still step
    key(q("page-next"), "ArrowRight");
    expect(model.sent.at(-1)?.content).toEqual({ type: "step", delta: 1 });
    expect(reachedNotebook).toBe(2);
    expect(Object.keys(STEP_KEYS).sort()).toEqual(["ArrowLeft", "ArrowRight"]);
    document.body.removeEventListener("keydown", notebook);
    cleanup();
  });

  it("a connection opens its channel; Back goes back once there is history", () => {
    const { model, q, el, root, cleanup } = mount({ channel: 3, grid_layout: {} });
    const back = q("back") as HTMLButtonElement;
    expect(back.disabled).toBe(true);
    model.kernelSet("connections", CONNECTIONS);
    model.kernelSet("connections_title", "strongest inputs from relu1");
    const items = [...el.querySelectorAll("[data-testid=connection]")] as HTMLElement[];
    expect(items.map((b) => [b.dataset.layer, b.dataset.channel])).toEqual([["relu1", "5"], ["relu1", "2"]]);
    expect(items[0].textContent).toContain("+0.250");
    expect(items[1].textContent).toContain("\u22120.125");
    expect(items[0].querySelector("img")!.getAttribute("src")).toBeTruthy();
    expect(q("connections_title").textContent).toBe("strongest inputs from relu1");

    items[1].click();
    expect(model.sent.at(-1)!.content).toEqual({ type: "navigate", layer: "relu1", channel: 2 });
    expect(document.activeElement).toBe(root);  // the arrow keys keep working

    model.kernelSet("history", [["relu2", -1], ["relu2", 3]]);
    expect(back.disabled).toBe(false);
    back.click();
    expect(model.sent.at(-1)!.content).toEqual({ type: "back" });
    // new connections replace the old buttons
    model.kernelSet("connections", CONNECTIONS.slice(0, 1));
    expect(el.querySelectorAll("[data-testid=connection]").length).toBe(1);
    cleanup();
  });

  it("the search box sends its text on Enter (change)", () => {
    const { model, q, cleanup } = mount();
    const input = q("search") as HTMLInputElement;
    expect(input.tagName).toBe("INPUT");
    input.value = "relu1:7";
    input.dispatchEvent(new Event("change"));
    expect(model.saved.at(-1)).toEqual({ search: "relu1:7" });
    model.kernelSet("search", "");  // the kernel clears it once it went there
    expect(input.value).toBe("");
    model.kernelSet("error", "ValueError: channel 99 of 'relu2' is not in this atlas; closest: 9");
    expect((q("error") as HTMLElement).hidden).toBe(false);
    cleanup();
  });

  it("the grid has a pager, a channel page has its connections and 'All channels'", () => {
    const { model, q, root, cleanup } = mount();
    const pager = q("page-prev").parentElement as HTMLElement;
    const side = q("connections").parentElement as HTMLElement;
    const grid = q("grid") as HTMLButtonElement;
    expect([root.dataset.mode, pager.hidden, side.hidden, grid.disabled]).toEqual(["grid", false, true, true]);
    const [prev, next] = [q("page-prev"), q("page-next")] as HTMLButtonElement[];
    expect([prev.disabled, next.disabled]).toEqual([true, false]);
    next.click();
    expect(model.saved.at(-1)).toEqual({ page: 1 });
    expect([prev.disabled, next.disabled]).toEqual([false, false]);
    prev.click();
    prev.click();  // already on the first page: nothing to send
    expect(model.saved.map((s) => s.page)).toEqual([1, 0]);
    expect(q("page-value").textContent).toBe("1 / 3");
    model.kernelSet("page", 2);
    expect([prev.disabled, next.disabled]).toEqual([false, true]);
    model.kernelSet("page_max", 0);  // a layer of one page: no pager
    expect(pager.hidden).toBe(true);
    model.kernelSet("page_max", 2);

    model.kernelSet("channel", 2);
    expect([root.dataset.mode, pager.hidden, side.hidden, grid.disabled]).toEqual(["channel", true, false, false]);
    grid.click();
    expect(model.sent.at(-1)!.content).toEqual({ type: "grid" });
    cleanup();
  });
});

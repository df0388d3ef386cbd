// ActivationGridViewer: which cell a point of the picture is, hover readout and the dwell that
// chooses a cell, clicks, and the controls' data-testids.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeModel, PNG } from "./fake_model";
import grid, { HOVER_DWELL_MS, cellAt } from "../src/widgets/activation_grid_viewer";

const png = () => new DataView(PNG.buffer);

function state(extra: Record<string, any> = {}): Record<string, any> {
  return {
    view: png(), mosaic: png(), detail: png(), groups: png(), strip: png(), caption: "",
    layer: "conv3.relu", layer_options: ["conv2.relu", "conv3.relu"], n_groups: 4,
    n_groups_max: 12, steps: 64, size: 32, seed: 0, cell: [0, 0], running: false, progress: 0,
    status: "", grid_layout: { nrows: 4, ncols: 8 }, ...extra,
  };
}

// The picture on screen: 200 x 100 px at (10, 20).
function place(img: HTMLElement) {
  img.getBoundingClientRect = () => ({ left: 10, top: 20, width: 200, height: 100 }) as DOMRect;
}

function mouse(img: HTMLElement, type: string, x: number, y: number) {
  img.dispatchEvent(new MouseEvent(type, { clientX: x, clientY: y }));
}

describe("cellAt", () => {
  const layout = { nrows: 4, ncols: 8 };

  it("maps fractions of the picture to [row, col]", () => {
    expect(cellAt(layout, 0, 0)).toEqual([0, 0]);
    expect(cellAt(layout, 0.124, 0.249)).toEqual([0, 0]);
    expect(cellAt(layout, 0.125, 0.25)).toEqual([1, 1]);
    expect(cellAt(layout, 0.99, 0.01)).toEqual([0, 7]);
    expect(cellAt(layout, 0.5, 0.6)).toEqual([2, 4]);
  });

  it("keeps the far edges in the last row and column", () => {
    expect(cellAt(layout, 1, 1)).toEqual([3, 7]);
  });

  it("gives nothing outside the picture or without a grid", () => {
    expect(cellAt(layout, -0.01, 0.5)).toBeUndefined();
    expect(cellAt(layout, 0.5, 1.01)).toBeUndefined();
    expect(cellAt({}, 0.5, 0.5)).toBeUndefined();
    expect(cellAt({ nrows: 0, ncols: 3 }, 0.5, 0.5)).toBeUndefined();
    expect(cellAt(undefined, 0.5, 0.5)).toBeUndefined();
    expect(cellAt(layout, NaN, 0.5)).toBeUndefined();
  });
});

describe("ActivationGridViewer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("has a control or picture for every trait, named by data-testid", () => {
    const model = new FakeModel(state());
    const el = document.createElement("div");
    const cleanup = grid.render({ model, el });
    for (const id of ["layer", "n_groups", "steps", "size", "seed", "start", "stop", "progress",
      "status", "view", "mosaic", "detail", "groups", "strip", "caption", "cell", "hover"])
      expect(el.querySelector(`[data-testid=${id}]`), id).not.toBeNull();
    expect(el.querySelector("[data-testid=cell]")!.textContent).toBe("cell: row 0 · col 0");
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });

  it("a click on the photo chooses the cell under it", () => {
    const model = new FakeModel(state());
    const el = document.createElement("div");
    const cleanup = grid.render({ model, el });
    const view = el.querySelector("[data-testid=view]") as HTMLElement;
    place(view);
    // x = (160 - 10) / 200 = 0.75 -> col 6; y = (90 - 20) / 100 = 0.7 -> row 2
    mouse(view, "click", 160, 90);
    expect(model.get("cell")).toEqual([2, 6]);
    expect(model.saved.at(-1)).toEqual({ cell: [2, 6] });
    model.kernelSet("cell", [2, 6]);
    expect(el.querySelector("[data-testid=cell]")!.textContent).toBe("cell: row 2 · col 6");
    cleanup();
  });

  it("a click on the mosaic chooses a cell too", () => {
    const model = new FakeModel(state());
    const el = document.createElement("div");
    const cleanup = grid.render({ model, el });
    const mosaic = el.querySelector("[data-testid=mosaic]") as HTMLElement;
    place(mosaic);
    mouse(mosaic, "click", 11, 119);  // bottom-left corner
    expect(model.get("cell")).toEqual([3, 0]);
    cleanup();
  });

  it("hover shows the position at once and chooses the cell after a rest", () => {
    const model = new FakeModel(state());
    const el = document.createElement("div");
    const cleanup = grid.render({ model, el });
    const view = el.querySelector("[data-testid=view]") as HTMLElement;
    const readout = el.querySelector("[data-testid=hover]") as HTMLElement;
    place(view);
    mouse(view, "mousemove", 35, 30);  // x 0.125 -> col 1, y 0.1 -> row 0
    expect(readout.textContent).toBe("pointer: row 0 · col 1");
    expect(model.get("cell")).toEqual([0, 0]);
    // Passing over cells on the way somewhere: no choice is made.
    vi.advanceTimersByTime(HOVER_DWELL_MS - 50);
    mouse(view, "mousemove", 60, 30);  // col 2
    expect(readout.textContent).toBe("pointer: row 0 · col 2");
    vi.advanceTimersByTime(HOVER_DWELL_MS - 50);
    expect(model.saved).toEqual([]);
    // Small moves inside one cell keep the pending choice.
    mouse(view, "mousemove", 62, 31);
    vi.advanceTimersByTime(60);
    expect(model.get("cell")).toEqual([0, 2]);
    expect(model.saved.length).toBe(1);
    cleanup();
  });

  it("leaving the picture clears the readout and cancels the pending choice", () => {
    const model = new FakeModel(state());
    const el = document.createElement("div");
    const cleanup = grid.render({ model, el });
    const view = el.querySelector("[data-testid=view]") as HTMLElement;
    place(view);
    mouse(view, "mousemove", 200, 110);
    view.dispatchEvent(new MouseEvent("mouseleave"));
    vi.advanceTimersByTime(HOVER_DWELL_MS * 4);
    expect((el.querySelector("[data-testid=hover]") as HTMLElement).textContent).toBe("");
    expect(model.saved).toEqual([]);
    cleanup();
  });

  it("choosing the cell that is already chosen sends nothing", () => {
    const model = new FakeModel(state({ cell: [1, 1] }));
    const el = document.createElement("div");
    const cleanup = grid.render({ model, el });
    const view = el.querySelector("[data-testid=view]") as HTMLElement;
    place(view);
    mouse(view, "click", 40, 50);  // col 1, row 1
    expect(model.saved).toEqual([]);
    cleanup();
  });

  it("a pending hover does not fire after cleanup", () => {
    const model = new FakeModel(state());
    const el = document.createElement("div");
    const cleanup = grid.render({ model, el });
    const view = el.querySelector("[data-testid=view]") as HTMLElement;
    place(view);
    mouse(view, "mousemove", 200, 110);
    cleanup();
    vi.advanceTimersByTime(HOVER_DWELL_MS * 4);
    expect(model.saved).toEqual([]);
  });

  it("Start and Stop send actions and follow `running`", () => {
    const model = new FakeModel(state());
    const el = document.createElement("div");
    const cleanup = grid.render({ model, el });
    (el.querySelector("[data-testid=start]") as HTMLButtonElement).click();
    expect(model.sent.at(-1)!.content).toEqual({ type: "start" });
    model.kernelSet("running", true);
    expect((el.querySelector("[data-testid=start]") as HTMLButtonElement).disabled).toBe(true);
    expect((el.querySelector("[data-testid=stop]") as HTMLButtonElement).disabled).toBe(false);
    cleanup();
  });
});

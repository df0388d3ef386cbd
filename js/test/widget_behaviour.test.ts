// Widget-specific wiring: clicks on grids choose items, method parameters show only for their
// method, uploads and Start/Stop reach the kernel.
import { describe, expect, it } from "vitest";
import { FakeModel, PNG } from "./fake_model";
import featureMaps from "../src/widgets/feature_map_viewer";
import filters from "../src/widgets/filter_viewer";
import saliency from "../src/widgets/saliency_viewer";
import visualizer from "../src/widgets/feature_visualizer";
import explorer from "../src/widgets/explorer";

const png = () => new DataView(PNG.buffer);

function clickAt(img: HTMLElement, x: number, y: number) {
  img.getBoundingClientRect = () => ({ left: 0, top: 0, width: 100, height: 100 }) as DOMRect;
  img.dispatchEvent(new MouseEvent("click", { clientX: x, clientY: y }));
}

describe("FeatureMapViewer", () => {
  it("a click on a tile enlarges that channel", () => {
    const model = new FakeModel({
      view: png(), photo: png(), detail: png(), layer: "a", layer_options: ["a"], order: "activation",
      colormap: "viridis", colormap_options: ["viridis"], channel: 0, channel_max: 3, caption: "",
      grid_layout: { ncols: 2, nrows: 2, channels: [3, 1, 0, 2] },
    });
    const el = document.createElement("div");
    const cleanup = featureMaps.render({ model, el });
    clickAt(el.querySelector("[data-testid=view]") as HTMLElement, 75, 25);
    expect(model.get("channel")).toBe(1);
    for (const id of ["layer", "order", "colormap", "scale", "channel", "upload", "photo", "detail",
      "legend"])
      expect(el.querySelector(`[data-testid=${id}]`), id).not.toBeNull();
    cleanup();
  });

  it("names the tile under the pointer, reads the enlarged channel's values, labels the legend", () => {
    const values = new Float32Array([0.5, -1.25, 2, 0]);
    const model = new FakeModel({
      view: png(), photo: png(), detail: png(), legend: png(), legend_labels: ["-2", "0", "2"],
      layer: "a", layer_options: ["a"], channel: 0, channel_max: 3, caption: "",
      grid_layout: { ncols: 2, nrows: 2, channels: [3, 1, 0, 2] },
      readout: { label: "activation", size: [2, 2], shape: [2, 2], values: new DataView(values.buffer) },
    });
    const el = document.createElement("div");
    const cleanup = featureMaps.render({ model, el });
    const hover = (id: string, x: number, y: number) => {
      const img = el.querySelector(`[data-testid=${id}]`) as HTMLElement;
      img.getBoundingClientRect = () => ({ left: 0, top: 0, width: 100, height: 100 }) as DOMRect;
      img.dispatchEvent(new MouseEvent("mousemove", { clientX: x, clientY: y }));
    };
    hover("view", 80, 80);
    expect(el.querySelector("[data-testid=view-hover]")!.textContent).toContain("channel 2");
    hover("detail", 80, 20);
    expect(el.querySelector("[data-testid=detail-hover]")!.textContent).toBe("activation at x 1, y 0: -1.25");
    const labels = [...el.querySelectorAll("[data-testid=legend-labels] span")].map((s) => s.textContent);
    expect(labels).toEqual(["-2", "0", "2"]);
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });
});

describe("FilterViewer", () => {
  it("a click on a filter chooses it", () => {
    const model = new FakeModel({
      view: png(), detail: png(), layer: "c", layer_options: ["c"], mode: "auto",
      mode_options: [["auto", "auto"]], filter: 0, filter_max: 8, weights: "", caption: "",
      grid_layout: { ncols: 3, nrows: 3, channels: [0, 1, 2, 3, 4, 5, 6, 7, 8] },
    });
    const el = document.createElement("div");
    const cleanup = filters.render({ model, el });
    clickAt(el.querySelector("[data-testid=view]") as HTMLElement, 50, 90);
    expect(model.get("filter")).toBe(7);
    cleanup();
  });
});

describe("SaliencyViewer", () => {
  it("draws the chosen method's parameters from the kernel's specs and sends their values", () => {
    const model = new FakeModel({
      view: png(), photo: png(), method: "gradient", method_options: [["gradient", "gradient"]],
      method_params: [], params: {}, method_help: "", target: 1, target_options: [["cat (90%)", 1]],
      compare_target: -1, compare_target_options: [["none", -1]], alpha: 0.5,
    });
    const el = document.createElement("div");
    const cleanup = saliency.render({ model, el });
    const panel = el.querySelector("[data-testid=method_params]") as HTMLElement;
    expect(panel.hidden).toBe(true);
    // The kernel switches to a method (names and kinds are the kernel's, not the front end's).
    model.kernelSet("method_params", [
      { name: "base", kind: "choice", label: "base", choices: ["gradient", "guided_backprop"], default: "gradient" },
      { name: "n_samples", kind: "int", label: "samples", min: 1, max: 100, step: 1, default: 25 },
      { name: "noise", kind: "float", label: "noise", min: 0, max: 1, step: 0.01, default: 0.15 },
      { name: "flip", kind: "bool", label: "flip", default: false },
      { name: "baseline", kind: "any", label: "baseline", default: null },
    ]);
    model.kernelSet("params", { base: "gradient", n_samples: 25, noise: 0.15, flip: false });
    expect(panel.hidden).toBe(false);
    expect(panel.querySelector("[data-testid=param-baseline]")).toBeNull();
    const samples = panel.querySelector("[data-testid=param-n_samples]") as HTMLInputElement;
    expect(samples.type).toBe("range");
    expect(samples.value).toBe("25");
    samples.value = "40";
    samples.dispatchEvent(new Event("input"));
    expect(model.get("params")).toEqual({ base: "gradient", n_samples: 40, noise: 0.15, flip: false });
    // A value from the kernel moves the same element (a dragged slider is never replaced).
    model.kernelSet("params", { base: "gradient", n_samples: 7, noise: 0.15, flip: false });
    expect(panel.querySelector("[data-testid=param-n_samples]")).toBe(samples);
    expect(samples.value).toBe("7");
    const base = panel.querySelector("[data-testid=param-base]") as HTMLSelectElement;
    base.value = "guided_backprop";
    base.dispatchEvent(new Event("change"));
    expect(model.get("params").base).toBe("guided_backprop");
    const flip = panel.querySelector("[data-testid=param-flip]") as HTMLInputElement;
    flip.checked = true;
    flip.dispatchEvent(new Event("change"));
    expect(model.get("params").flip).toBe(true);
    model.kernelSet("method_params", []);
    expect(panel.hidden).toBe(true);
    expect(panel.querySelector("[data-testid=param-n_samples]")).toBeNull();
    cleanup();
  });
});

describe("FeatureVisualizer", () => {
  it("Start and Stop send actions; objectives edit the trait", () => {
    const model = new FakeModel({
      view: png(), layer: "a", layer_options: ["a"], channel: 0, channel_max: 3, objective: "",
      param: "fft", param_options: [["FFT", "fft"]], tv: 0, l2: 0, steps: 64, running: false,
      progress: 0, status: "",
    });
    const el = document.createElement("div");
    const cleanup = visualizer.render({ model, el });
    (el.querySelector("[data-testid=start]") as HTMLButtonElement).click();
    expect(model.sent.at(-1)!.content).toEqual({ type: "start" });
    const obj = el.querySelector("[data-testid=objective]") as HTMLInputElement;
    obj.value = "a:1, a:2";
    obj.dispatchEvent(new Event("change"));
    expect(model.get("objective")).toBe("a:1, a:2");
    expect(el.querySelector("[data-testid=save]")).not.toBeNull();
    cleanup();
  });
});

describe("Explorer", () => {
  it("takes a dropped file", async () => {
    const model = new FakeModel({ view: png(), layer: "a", layer_options: ["a"], predictions: "" });
    const el = document.createElement("div");
    const cleanup = explorer.render({ model, el });
    const root = el.querySelector("[data-dropzone]") as HTMLElement;
    const file = new File([PNG], "cat.png", { type: "image/png" });
    const drop = new Event("drop") as any;
    drop.dataTransfer = { files: [file] };
    drop.preventDefault = () => {};
    root.dispatchEvent(drop);
    await new Promise((r) => setTimeout(r, 10));
    expect(model.sent[0].content).toMatchObject({ type: "upload", name: "cat.png" });
    cleanup();
  });
});

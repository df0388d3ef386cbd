import { beforeEach, describe, expect, it } from "vitest";
import {
  Disposer, errorBanner, imageView, progressBar, select, slider, sniffMime, startStop, toBytes,
  uploadButton,
} from "../src/components";
import { FakeModel, JPEG, PNG } from "./fake_model";

let d: Disposer;
beforeEach(() => {
  d = new Disposer();
  document.body.replaceChildren();
});

describe("select", () => {
  it("lists options from the <name>_options trait and sets the trait on change", () => {
    const model = new FakeModel({ layer: "b", layer_options: ["a", "b", "c"] });
    const el = select(model, "layer", { label: "Layer" }, d);
    const sel = el.querySelector("[data-testid=layer]") as HTMLSelectElement;
    expect(sel.options.length).toBe(3);
    expect(sel.options[sel.selectedIndex].textContent).toBe("b");
    sel.value = "2";
    sel.dispatchEvent(new Event("change"));
    expect(model.get("layer")).toBe("c");
    expect(model.saved.at(-1)).toEqual({ layer: "c" });
  });

  it("keeps the type of [label, value] options and follows kernel changes", () => {
    const model = new FakeModel({ target: 5, target_options: [["cat 0.9", 5], ["dog 0.1", 7]] });
    const sel = select(model, "target", { label: "Class" }, d).querySelector("select")!;
    sel.value = "1";
    sel.dispatchEvent(new Event("change"));
    expect(model.get("target")).toBe(7);
    model.kernelSet("target_options", [["x", 1], ["y", 2], ["z", 3]]);
    expect(sel.options.length).toBe(3);
    model.kernelSet("target", 2);
    expect(sel.value).toBe("1");
  });
});

describe("slider", () => {
  it("sets the trait while dragging, shows the value and keeps keys from JupyterLab", () => {
    const model = new FakeModel({ alpha: 0.5 });
    const el = slider(model, "alpha", { label: "Alpha", min: 0, max: 1, step: 0.05 }, d);
    document.body.append(el);
    const input = el.querySelector("[data-testid=alpha]") as HTMLInputElement;
    const value = el.querySelector("[data-testid=alpha-value]")!;
    expect(value.textContent).toBe("0.50");
    input.value = "0.75";
    input.dispatchEvent(new Event("input"));
    expect(model.get("alpha")).toBe(0.75);
    expect(value.textContent).toBe("0.75");
    let reached = false;
    document.body.addEventListener("keydown", () => (reached = true));
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect(reached).toBe(false);
  });

  it("follows a max trait", () => {
    const model = new FakeModel({ channel: 3, channel_max: 5 });
    const input = slider(model, "channel", { label: "Channel", maxTrait: "channel_max" }, d)
      .querySelector("input")!;
    expect(input.max).toBe("5");
    model.kernelSet("channel_max", 31);
    expect(input.max).toBe("31");
  });
});

describe("image view", () => {
  it("recognises PNG and JPEG bytes from a DataView or ArrayBuffer", () => {
    expect(sniffMime(toBytes(new DataView(PNG.buffer)))).toBe("image/png");
    expect(sniffMime(toBytes(JPEG.buffer))).toBe("image/jpeg");
    expect(sniffMime(toBytes(new Uint8Array([1, 2, 3])))).toBe("");
    expect(toBytes(null).length).toBe(0);
  });

  it("draws the trait and redraws when it changes", () => {
    const model = new FakeModel({ view: new DataView(PNG.buffer) });
    const img = imageView(model, "view", {}, d);
    expect(img.dataset.testid).toBe("view");
    expect(img.dataset.mime).toBe("image/png");
    expect(img.getAttribute("src")).toBeTruthy();
    model.kernelSet("view", new DataView(JPEG.buffer));
    expect(img.dataset.mime).toBe("image/jpeg");
    model.kernelSet("view", new DataView(new ArrayBuffer(0)));
    expect(img.dataset.empty).toBe("true");
  });

  it("reports clicks as fractions of the picture", () => {
    const model = new FakeModel({ view: new DataView(PNG.buffer) });
    const clicks: [number, number][] = [];
    const img = imageView(model, "view", { onClick: (x, y) => clicks.push([x, y]) }, d);
    img.getBoundingClientRect = () => ({ left: 10, top: 20, width: 100, height: 50 }) as DOMRect;
    img.dispatchEvent(new MouseEvent("click", { clientX: 60, clientY: 45 }));
    expect(clicks).toEqual([[0.5, 0.5]]);
  });
});

describe("error banner", () => {
  it("is hidden without an error, shows one, and clears it when dismissed", () => {
    const model = new FakeModel({ error: "" });
    const banner = errorBanner(model, d);
    expect(banner.hidden).toBe(true);
    model.kernelSet("error", "ImageLoadError: not an image");
    expect(banner.hidden).toBe(false);
    expect(banner.textContent).toContain("not an image");
    (banner.querySelector("[data-testid=error-dismiss]") as HTMLButtonElement).click();
    expect(model.get("error")).toBe("");
    expect(banner.hidden).toBe(true);
  });
});

describe("progress bar", () => {
  it("shows progress and status", () => {
    const model = new FakeModel({ progress: 0.25, status: "step 32 / 128" });
    const el = progressBar(model, d);
    const bar = el.querySelector("[data-testid=progress]") as HTMLProgressElement;
    expect(bar.value).toBeCloseTo(0.25);
    model.kernelSet("progress", 1);
    model.kernelSet("status", "done");
    expect(bar.value).toBe(1);
    expect(el.querySelector("[data-testid=status]")!.textContent).toBe("done");
  });
});

describe("start / stop", () => {
  it("sends actions and follows `running`", () => {
    const model = new FakeModel({ running: false });
    const el = startStop(model, d);
    const start = el.querySelector("[data-testid=start]") as HTMLButtonElement;
    const stop = el.querySelector("[data-testid=stop]") as HTMLButtonElement;
    expect(start.disabled).toBe(false);
    expect(stop.disabled).toBe(true);
    start.click();
    expect(model.sent.at(-1)!.content).toEqual({ type: "start" });
    model.kernelSet("running", true);
    expect(start.disabled).toBe(true);
    stop.click();
    expect(model.sent.at(-1)!.content).toEqual({ type: "stop" });
  });
});

describe("upload", () => {
  it("sends the file's bytes with an upload action", async () => {
    const model = new FakeModel();
    const el = uploadButton(model, d);
    const input = el.querySelector("[data-testid=upload]") as HTMLInputElement;
    const file = new File([PNG], "cat.png", { type: "image/png" });
    Object.defineProperty(input, "files", { value: [file] });
    input.dispatchEvent(new Event("change"));
    await new Promise((r) => setTimeout(r, 10));
    expect(model.sent[0].content).toMatchObject({ type: "upload", name: "cat.png" });
    expect(new Uint8Array(model.sent[0].buffers![0])).toEqual(PNG);
  });
});

describe("disposer", () => {
  it("removes every listener", () => {
    const model = new FakeModel({ layer: "a", layer_options: ["a"], alpha: 0.5, error: "" });
    select(model, "layer", { label: "Layer" }, d);
    slider(model, "alpha", { label: "Alpha" }, d);
    errorBanner(model, d);
    expect(model.listenerCount()).toBeGreaterThan(0);
    d.dispose();
    expect(model.listenerCount()).toBe(0);
  });
});

describe("grid click", () => {
  it("maps a click to the tile's item", async () => {
    const { tileAt } = await import("../src/components/grid_click");
    const layout = { ncols: 3, nrows: 2, channels: [7, 8, 9, 10, 11] };
    expect(tileAt(layout, 0.1, 0.1)).toBe(7);
    expect(tileAt(layout, 0.9, 0.1)).toBe(9);
    expect(tileAt(layout, 0.5, 0.9)).toBe(11);
    expect(tileAt(layout, 0.99, 0.99)).toBeUndefined();
    expect(tileAt({}, 0.5, 0.5)).toBeUndefined();
  });
});

describe("keys in a widget's controls", () => {
  it("never reach the page's shortcuts, in the capture phase or the bubble phase", async () => {
    const { frame } = await import("../src/components/layout");
    const model = new FakeModel({ layer: "a", layer_options: ["a"], alpha: 0.5 });
    const el = document.createElement("div");
    document.body.append(el);
    const f = frame(model, el, "test", d);
    const field = slider(model, "alpha", { label: "Alpha" }, d);
    f.controls.append(field);
    const shortcuts: string[] = [];
    const capture = (e: KeyboardEvent) => shortcuts.push(`capture ${e.key}`);
    const bubble = (e: KeyboardEvent) => shortcuts.push(`bubble ${e.key}`);
    document.addEventListener("keydown", capture, true);
    document.addEventListener("keydown", bubble);
    const press = (target: Element, key: string, init: KeyboardEventInit = {}) =>
      target.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, ...init }));
    const input = field.querySelector("input")!;
    press(input, "ArrowUp");
    press(input, "Enter", { shiftKey: true });
    expect(shortcuts).toEqual([]);
    press(f.root, "ArrowDown");  // not a control: the notebook's, as before
    expect(shortcuts).toEqual(["capture ArrowDown", "bubble ArrowDown"]);
    d.dispose();
    press(document.body, "x");
    expect(shortcuts.slice(-2)).toEqual(["capture x", "bubble x"]);
    document.removeEventListener("keydown", capture, true);
    document.removeEventListener("keydown", bubble);
  });
});

// Every widget entry renders into a fresh element, carries the shared data-testids and removes
// itself and its listeners on cleanup.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FakeModel, PNG } from "./fake_model";

const dir = join(__dirname, "..", "src", "widgets");
const entries = readdirSync(dir).filter((f) => f.endsWith(".ts")).sort();

function state(): Record<string, any> {
  const png = new DataView(PNG.buffer);
  return {
    error: "", view: png, photo: png, detail: png, running: false, progress: 0, status: "",
    layer: "a", layer_options: ["a", "b"], channel: 0, channel_max: 3, alpha: 0.5,
    grid_layout: { ncols: 2, nrows: 2, channels: [0, 1, 2, 3] },
  };
}

describe.each(entries)("%s", (file) => {
  it("renders with data-testid=view and an error banner, and cleans up", async () => {
    const mod = await import(join(dir, file));
    const model = new FakeModel(state());
    const el = document.createElement("div");
    const cleanup = mod.default.render({ model, el });
    expect(el.querySelector("[data-testid=view]")).not.toBeNull();
    expect(el.querySelector("[data-testid=error]")).not.toBeNull();
    model.kernelSet("error", "boom");
    expect((el.querySelector("[data-testid=error]") as HTMLElement).hidden).toBe(false);
    cleanup();
    expect(el.children.length).toBe(0);
    expect(model.listenerCount()).toBe(0);
  });
});

// The committed bundles are what anywidget loads: they must render too (not only the sources).
const staticDir = join(__dirname, "..", "..", "cnnwidgets", "static");
const bundles = readdirSync(staticDir).filter((f) => f.endsWith(".js")).sort();

describe.each(bundles)("bundle %s", (file) => {
  it("exports a render that draws the view and cleans up", async () => {
    const mod = await import(join(staticDir, file));
    const model = new FakeModel(state());
    const el = document.createElement("div");
    const cleanup = mod.default.render({ model, el });
    expect(el.querySelector("[data-testid=view]")).not.toBeNull();
    cleanup();
    expect(el.children.length).toBe(0);
    expect(model.listenerCount()).toBe(0);
  });
});

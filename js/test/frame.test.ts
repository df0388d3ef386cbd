// The shared frame's duties toward the kernel and the page: views announced and withdrawn, the
// progress of a recompute, a lost kernel detected (comm lost, failed send, unanswered ping),
// static pictures hidden while the live view is there.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  Disposer, KERNEL_RESTARTED, KERNEL_SILENT, frame, select, setTrait, startStop,
} from "../src/components";
import { FakeModel } from "./fake_model";

let d: Disposer;
let el: HTMLElement;
beforeEach(() => {
  d = new Disposer();
  document.body.replaceChildren();
  document.head.replaceChildren();
  el = document.createElement("div");
  document.body.append(el);
});
afterEach(() => {
  d.dispose();
  vi.useRealTimers();
});

function connection(root: HTMLElement): HTMLElement {
  return root.querySelector("[data-testid=kernel-status]") as HTMLElement;
}

describe("views", () => {
  it("announces the view on render and withdraws the same view on dispose", () => {
    const model = new FakeModel();
    frame(model, el, "test", d);
    const attached = model.frameSent.filter((m) => m.type === "view_attached");
    expect(attached).toHaveLength(1);
    d.dispose();
    const detached = model.frameSent.filter((m) => m.type === "view_detached");
    expect(detached).toEqual([{ type: "view_detached", view: attached[0].view, page: false }]);
    expect(el.children).toHaveLength(0);
    expect(model.listenerCount()).toBe(0);
  });

  it("tells the kernel when the whole page goes (closed or reloading), once", () => {
    const model = new FakeModel();
    frame(model, el, "test", d);
    window.dispatchEvent(new Event("pagehide"));
    d.dispose();
    const detached = model.frameSent.filter((m) => m.type === "view_detached");
    expect(detached).toHaveLength(1);
    expect(detached[0].page).toBe(true);
  });

  it("hides the widget's static pictures while a view lives, and only then", () => {
    const model = new FakeModel({ _static_key: "abc123" });
    const d2 = new Disposer();
    frame(model, el, "test", d);
    frame(model, document.createElement("div"), "test", d2);
    const rules = () => [...document.head.querySelectorAll("style")]
      .filter((s) => s.textContent!.includes('[data-cnnw-static="abc123"]'));
    expect(rules()).toHaveLength(1);
    d.dispose();
    expect(rules()).toHaveLength(1); // the second view still shows the widget
    d2.dispose();
    expect(rules()).toHaveLength(0);
  });
});

describe("busy bar", () => {
  it("shows what the recompute computes and how far it got, only while busy", () => {
    const model = new FakeModel({ busy: false, busy_progress: 0, busy_label: "" });
    const { root } = frame(model, el, "test", d);
    const wrap = root.querySelector("[data-testid=busy]") as HTMLElement;
    const bar = root.querySelector("[data-testid=busy_progress]") as HTMLProgressElement;
    expect(wrap.hidden).toBe(true);
    model.kernelSet("busy_label", "computing method Score-CAM…");
    model.kernelSet("busy", true);
    expect(wrap.hidden).toBe(false);
    expect(root.classList.contains("cnnw-busy")).toBe(true);
    expect(bar.hasAttribute("value")).toBe(false); // no fraction yet: indeterminate
    expect(root.querySelector("[data-testid=busy_label]")!.textContent)
      .toBe("computing method Score-CAM…");
    model.kernelSet("busy_progress", 0.4);
    expect(bar.value).toBeCloseTo(0.4);
    model.kernelSet("busy", false);
    expect(wrap.hidden).toBe(true);
  });
});

describe("connection", () => {
  it("greys the controls and says so when ipywidgets loses the comm (kernel restart)", () => {
    const model = new FakeModel({ layer: "a", layer_options: ["a", "b"], running: true });
    const f = frame(model, el, "test", d);
    f.controls.append(select(model, "layer", { label: "Layer" }, d), startStop(model, d));
    expect(connection(f.root).hidden).toBe(true);
    model.trigger("comm_live_update");
    expect(connection(f.root).hidden).toBe(false);
    expect(connection(f.root).textContent).toBe(KERNEL_RESTARTED);
    const controls = [...f.root.querySelectorAll("select, button:not(.cnnw-error-close)")];
    expect(controls.length).toBeGreaterThan(2);
    for (const c of controls) expect((c as HTMLButtonElement).disabled).toBe(true);
    expect(f.root.classList.contains("cnnw-disconnected")).toBe(true);
  });

  it("pings after a change; no answer from an idle kernel means it restarted", () => {
    vi.useFakeTimers();
    const model = new FakeModel({ layer: "a", layer_options: ["a", "b"] });
    const kernel = { status: "busy" };
    (model as any).widget_manager = { kernel };
    const f = frame(model, el, "test", d);
    f.controls.append(select(model, "layer", { label: "Layer" }, d));
    model.kernelSend({ type: "pong", id: model.frameSent.find((m) => m.type === "ping").id });
    setTrait(model, "layer", "b");
    const pings = model.frameSent.filter((m) => m.type === "ping");
    expect(pings).toHaveLength(2);
    vi.advanceTimersByTime(60_000); // a cell runs: the kernel reads messages when it is done
    expect(connection(f.root).hidden).toBe(true);
    kernel.status = "idle";
    vi.advanceTimersByTime(6000);
    expect(connection(f.root).hidden).toBe(false);
    expect(connection(f.root).textContent).toBe(KERNEL_RESTARTED);
    expect((f.root.querySelector("select") as HTMLSelectElement).disabled).toBe(true);
  });

  it("a kernel that is (re)starting while a ping waits is a new kernel", () => {
    vi.useFakeTimers();
    const model = new FakeModel({ layer: "a", layer_options: ["a", "b"] });
    const kernel = { status: "idle" };
    (model as any).widget_manager = { kernel };
    const f = frame(model, el, "test", d);
    f.controls.append(select(model, "layer", { label: "Layer" }, d));
    model.kernelSend({ type: "pong", id: model.frameSent.find((m) => m.type === "ping").id });
    kernel.status = "starting"; // restarted from another client; the page learns nothing more
    setTrait(model, "layer", "b");
    vi.advanceTimersByTime(6000);
    expect(connection(f.root).hidden).toBe(false);
    expect(connection(f.root).textContent).toBe(KERNEL_RESTARTED);
  });

  it("a late answer brings the view back, with the controls it had disabled", () => {
    vi.useFakeTimers();
    const model = new FakeModel({ running: false });
    const f = frame(model, el, "test", d);
    f.controls.append(startStop(model, d));
    const stop = f.root.querySelector("[data-testid=stop]") as HTMLButtonElement;
    expect(stop.disabled).toBe(true); // nothing runs
    vi.advanceTimersByTime(6000); // no answer to the first ping; kernel status unknown here
    expect(connection(f.root).textContent).toBe(KERNEL_SILENT);
    const start = f.root.querySelector("[data-testid=start]") as HTMLButtonElement;
    expect(start.disabled).toBe(true);
    const ping = model.frameSent.filter((m) => m.type === "ping").at(-1);
    model.kernelSend({ type: "pong", id: ping.id });
    expect(connection(f.root).hidden).toBe(true);
    expect(start.disabled).toBe(false);
    expect(stop.disabled).toBe(true); // it was disabled for its own reason
  });

  it("a change that cannot be sent (no comm) means no kernel", () => {
    const model = new FakeModel({ layer: "a", layer_options: ["a", "b"] });
    model.save_changes = () => {
      throw new Error("Syncing error: no comm channel defined");
    };
    const f = frame(model, el, "test", d);
    setTrait(model, "layer", "b");
    expect(connection(f.root).textContent).toBe(KERNEL_RESTARTED);
  });
});

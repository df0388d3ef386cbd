// The hover readout reads the value under the pointer from the numbers the kernel sends.
import { beforeEach, describe, expect, it } from "vitest";
import {
  Disposer, decodeReadout, formatValue, hoverReadout, readAt, readingText,
} from "../src/components";
import { FakeModel } from "./fake_model";

/** The trait as the kernel sends it (cnnwidgets.render.images.readout). */
function trait(rows: number[][], size?: [number, number], label = "activation") {
  const flat = new Float32Array(rows.flat());
  return { label, size: size ?? [rows.length, rows[0].length], shape: [rows.length, rows[0].length],
    values: new DataView(flat.buffer) };
}

function move(el: HTMLElement, x: number, y: number) {
  el.getBoundingClientRect = () => ({ left: 10, top: 20, width: 200, height: 100 }) as DOMRect;
  el.dispatchEvent(new MouseEvent("mousemove", { clientX: 10 + x * 200, clientY: 20 + y * 100 }));
}

describe("readAt", () => {
  it("finds the cell under a point given as fractions of the picture", () => {
    const r = decodeReadout(trait([[1, 2, 3], [4, 5, 6]]))!;
    expect(readAt(r, 0, 0)).toEqual({ x: 0, y: 0, value: 1 });
    expect(readAt(r, 0.5, 0.75)).toEqual({ x: 1, y: 1, value: 5 });
    expect(readAt(r, 1, 1)).toEqual({ x: 2, y: 1, value: 6 });  // the far edge is the last cell
    expect(readAt(r, 1.2, 0.5)).toBeUndefined();
  });

  it("reads block-averaged values at the map's own positions", () => {
    // A 4 x 4 map sent as 2 x 2 block means.
    const r = decodeReadout(trait([[1, 2], [3, 4]], [4, 4]))!;
    expect(readAt(r, 0.9, 0.1)).toEqual({ x: 3, y: 0, value: 2 });
  });

  it("refuses a trait without enough numbers", () => {
    expect(decodeReadout({})).toBeUndefined();
    expect(decodeReadout({ size: [2, 2], shape: [2, 2], values: new DataView(new ArrayBuffer(8)) }))
      .toBeUndefined();
  });
});

describe("formatValue", () => {
  it("writes three significant digits", () => {
    expect(formatValue(0.41234)).toBe("0.412");
    expect(formatValue(-12.345)).toBe("-12.3");
    expect(formatValue(0)).toBe("0");
    expect(formatValue(1.5e-5)).toBe("1.50e-5");
    expect(readingText("CAM", { x: 3, y: 5, value: 0.5 })).toBe("CAM at x 3, y 5: 0.5");
  });
});

describe("hoverReadout", () => {
  let d: Disposer;
  beforeEach(() => { d = new Disposer(); });

  it("shows the value under the pointer, follows new numbers, clears on leave", () => {
    const model = new FakeModel({ readout: trait([[0.5, -0.25]]) });
    const img = document.createElement("img");
    const line = hoverReadout(model, img, "readout", d);
    expect(line.dataset.testid).toBe("readout-hover");
    expect(line.textContent).toBe("");
    move(img, 0.75, 0.5);
    expect(line.textContent).toBe("activation at x 1, y 0: -0.25");
    model.kernelSet("readout", trait([[1, 7]]));
    expect(line.textContent).toBe("activation at x 1, y 0: 7");
    img.dispatchEvent(new MouseEvent("mouseleave"));
    expect(line.textContent).toBe("");
    d.dispose();
    expect(model.listenerCount()).toBe(0);
  });
});

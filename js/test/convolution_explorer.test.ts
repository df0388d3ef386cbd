// The ConvolutionExplorer front end draws what the kernel computed and sends edits back.
import { beforeEach, describe, expect, it } from "vitest";
import explorer, { fmt } from "../src/widgets/convolution_explorer";
import { FakeModel, PNG } from "./fake_model";

function state(): Record<string, any> {
  const png = new DataView(PNG.buffer);
  return {
    error: "", view: png, input_view: png, source: "numbers", source_options: ["numbers", "camera"],
    size: 24, kernel_name: "sobel_x", kernel_name_options: ["sobel_x", "custom"], kernel_size: 3,
    kernel: [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], stride: 2, padding: 1, dilation: 1,
    position: 5, position_max: 15, equation: "out[1, 1] = ... = 4", formula: "rows: ... = 4",
    shapes: { input: [7, 7], kernel: [3, 3], padded: [9, 9], output: [4, 4] },
    // output (1, 1) with stride 2, padding 1: image rows/cols 1..3, i.e. padded 2..4
    cell: { row: 1, col: 1, rows: [[1, 1, 1], [2, 2, 2], [3, 3, 3]], cols: [[1, 2, 3], [1, 2, 3], [1, 2, 3]],
      inside: [[true, true, true], [true, true, true], [true, true, true]],
      values: [[3, 1, 0], [1, 0, 4], [0, 3, 1]], weights: [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
      products: [[-3, 0, 0], [-2, 0, 8], [0, 0, 1]], bias: 0, total: 4 },
    values: { input: Array.from({ length: 9 }, () => Array(9).fill(0)), output: [[1, 2], [3, 4]] },
  };
}

let el: HTMLElement;
let model: FakeModel;
let cleanup: () => void;
beforeEach(() => {
  document.body.replaceChildren();
  el = document.createElement("div");
  document.body.append(el);
  model = new FakeModel(state());
  cleanup = explorer.render({ model, el });
});

const q = (testid: string) => el.querySelector(`[data-testid="${testid}"]`) as HTMLElement;
const all = (testid: string) => [...el.querySelectorAll(`[data-testid="${testid}"]`)] as HTMLElement[];

describe("ConvolutionExplorer view", () => {
  it("outlines the taps on the padded input and the cell on the output", () => {
    const taps = all("tap");
    expect(taps.length).toBe(9);
    // padded row 2, col 2 of 9: left/top at 2/9 of the picture
    expect(parseFloat(taps[0].style.left)).toBeCloseTo((2 / 9) * 100);
    expect(parseFloat(taps[0].style.top)).toBeCloseTo((2 / 9) * 100);
    expect(parseFloat(taps[8].style.left)).toBeCloseTo((4 / 9) * 100);
    const cell = q("current-cell");
    expect(parseFloat(cell.style.left)).toBeCloseTo(25);
    expect(parseFloat(cell.style.width)).toBeCloseTo(25);
  });

  it("writes the arithmetic of the current cell", () => {
    const tds = [...q("arithmetic").querySelectorAll("td")].map((td) => td.textContent);
    expect(tds).toEqual(["3×-1", "1×0", "0×1", "1×-2", "0×0", "4×2", "0×-1", "3×0", "1×1"]);
    expect(q("cell-total").textContent).toContain("= 4");
    expect(q("formula").textContent).toBe("rows: ... = 4");
  });

  it("writes the numbers of small grids on the pictures", () => {
    expect(all("input-value").length).toBe(81);
    expect(all("output-value").map((e) => e.textContent)).toEqual(["1", "2", "3", "4"]);
    model.kernelSet("values", {});
    expect(all("input-value").length).toBe(0);
  });

  it("sends an edited weight as the whole kernel", () => {
    const inp = q("kernel-1-2") as HTMLInputElement;
    expect(inp.value).toBe("2");
    inp.value = "7";
    inp.dispatchEvent(new Event("change"));
    expect(model.get("kernel")).toEqual([[-1, 0, 1], [-2, 0, 7], [-1, 0, 1]]);
    // a bigger kernel from the kernel side rebuilds the editor
    model.kernelSet("kernel", [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]]);
    expect(q("kernel").querySelectorAll("input").length).toBe(25);
  });

  it("steps through positions with wrap-around", () => {
    q("next").click();
    expect(model.get("position")).toBe(6);
    model.kernelSet("position", 15);
    q("next").click();
    expect(model.get("position")).toBe(0);
    q("prev").click();
    expect(model.get("position")).toBe(15);
  });

  it("cleans up", () => {
    q("play").click();
    cleanup();
    expect(el.children.length).toBe(0);
    expect(model.listenerCount()).toBe(0);
  });
});

describe("fmt", () => {
  it("prints integers plainly and trims decimals", () => {
    expect(fmt(2)).toBe("2");
    expect(fmt(0.1111111)).toBe("0.111");
    expect(fmt(-0.0001)).toBe("0");
    expect(fmt(1.5)).toBe("1.5");
  });
});

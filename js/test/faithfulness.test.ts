// Faithfulness in the attribution viewers: the scores line, the "Score all methods" button and
// the table of every method (best value per column marked, the shown method highlighted, failures
// listed), and the sanity-check checkbox bound to its trait.
import { describe, expect, it } from "vitest";
import { FakeModel, PNG } from "./fake_model";
import { bestRows } from "../src/components/score_table";
import gradcam from "../src/widgets/gradcam_viewer";
import saliency from "../src/widgets/saliency_viewer";

const png = () => new DataView(PNG.buffer);

function state(extra: Record<string, any> = {}): Record<string, any> {
  return {
    view: png(), photo: png(), layer: "a", layer_options: ["a"], method: "gradcam",
    method_options: [["Grad-CAM", "gradcam"], ["LayerCAM", "layercam"]], method_params: [],
    params: {}, method_help: "", target: 1, target_options: [["cat (90%)", 1]], compare_target: -1,
    compare_target_options: [["none", -1]], alpha: 0.5, caption: "", sanity: false,
    faithfulness: {}, compare: [], compare_skipped: [], scoring: false, ...extra,
  };
}

const ROWS = [
  { method: "gradcam", label: "Grad-CAM", deletion_auc: 0.2, insertion_auc: 0.61, average_drop: 0.05 },
  { method: "layercam", label: "LayerCAM", deletion_auc: 0.15, insertion_auc: 0.4, average_drop: 0.3 },
  { method: "eigencam", label: "Eigen-CAM", deletion_auc: 0.31, insertion_auc: 0.7, average_drop: 0.0 },
];

function cells(table: HTMLElement): string[][] {
  return [...table.querySelectorAll("tr")].map((tr) =>
    [...tr.children].map((c) => c.textContent ?? ""));
}

describe("attribution viewers: faithfulness", () => {
  it("shows the scores line, and says why when a map has none", () => {
    const model = new FakeModel(state());
    const el = document.createElement("div");
    const cleanup = gradcam.render({ model, el });
    const line = el.querySelector("[data-testid=faithfulness]") as HTMLElement;
    expect(line.textContent).toBe("");
    model.kernelSet("faithfulness", {
      deletion_auc: 0.1234, insertion_auc: 0.6789, average_drop: 0.0512,
      increase_in_confidence: false, curves: { fractions: [0, 1], deletion: [1, 0], insertion: [0, 1] },
    });
    expect(line.textContent).toContain("Deletion AUC 0.123");
    expect(line.textContent).toContain("Insertion AUC 0.679");
    expect(line.textContent).toContain("Average drop 5.1%");
    expect(line.dataset.state).toBe("ready");
    model.kernelSet("faithfulness", { label: "flat", error: "InputError: map 0 is constant" });
    expect(line.textContent).toContain("map 0 is constant");
    expect(line.dataset.state).toBe("error");
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });

  it("the button asks the kernel, and the table lists every method with the best marked", () => {
    const model = new FakeModel(state());
    const el = document.createElement("div");
    const cleanup = gradcam.render({ model, el });
    const table = el.querySelector("[data-testid=compare]") as HTMLElement;
    const button = el.querySelector("[data-testid=score_all]") as HTMLButtonElement;
    expect(table.hidden).toBe(true);
    button.click();
    expect(model.sent.at(-1)!.content).toEqual({ type: "score_all" });

    model.kernelSet("scoring", true);
    expect(button.disabled).toBe(true);
    expect(table.hidden).toBe(false);
    expect(table.textContent).toContain("Scoring every method");

    model.kernelSet("compare", ROWS);
    model.kernelSet("compare_skipped", [{ method: "scorecam", label: "Score-CAM", reason: "MemoryError: too big" }]);
    model.kernelSet("scoring", false);
    expect(button.disabled).toBe(false);
    expect(table.textContent).not.toContain("Scoring every method");
    expect(cells(table)).toEqual([
      ["Method", "Deletion AUC ↓", "Insertion AUC ↑", "Average drop ↓"],
      ["Grad-CAM", "0.200", "0.610", "5.0%"],
      ["LayerCAM", "0.150", "0.400", "30.0%"],
      ["Eigen-CAM", "0.310", "0.700", "0.0%"],
    ]);
    const best = [...table.querySelectorAll("td.cnnw-best")].map((td) =>
      `${td.parentElement!.dataset.method}:${td.textContent}`);
    expect(best).toEqual(["layercam:0.150", "eigencam:0.700", "eigencam:0.0%"]);
    expect(table.querySelector("tr.cnnw-current")!.getAttribute("data-method")).toBe("gradcam");
    model.kernelSet("method", "layercam");
    expect(table.querySelector("tr.cnnw-current")!.getAttribute("data-method")).toBe("layercam");
    const skipped = el.querySelector("[data-testid=compare_skipped]") as HTMLElement;
    expect(skipped.textContent).toBe("Not scored: Score-CAM (MemoryError: too big)");

    model.kernelSet("compare", []);
    model.kernelSet("compare_skipped", []);
    expect(table.hidden).toBe(true);
    cleanup();
    expect(el.children.length).toBe(0);
    expect(model.listenerCount()).toBe(0);
  });

  it.each([["gradcam", gradcam], ["saliency", saliency]])(
    "%s: the sanity checkbox sets its trait and follows the kernel", (_name, widget) => {
      const model = new FakeModel(state({ method: "gradient" }));
      const el = document.createElement("div");
      const cleanup = widget.render({ model, el });
      const box = el.querySelector("[data-testid=sanity]") as HTMLInputElement;
      expect(box.type).toBe("checkbox");
      expect(box.checked).toBe(false);
      box.checked = true;
      box.dispatchEvent(new Event("change"));
      expect(model.get("sanity")).toBe(true);
      expect(model.saved.at(-1)).toEqual({ sanity: true });
      model.kernelSet("sanity", false);
      expect(box.checked).toBe(false);
      expect(el.querySelector("[data-testid=score_all]")).not.toBeNull();
      expect(el.querySelector("[data-testid=compare]")).not.toBeNull();
      cleanup();
      expect(model.listenerCount()).toBe(0);
    });

  it("best rows ignore missing values", () => {
    const rows = [
      { ...ROWS[0], deletion_auc: NaN },
      { ...ROWS[1] },
    ];
    expect(bestRows(rows)).toEqual({ deletion_auc: 1, insertion_auc: 0, average_drop: 0 });
    expect(bestRows([])).toEqual({ deletion_auc: -1, insertion_auc: -1, average_drop: -1 });
  });
});

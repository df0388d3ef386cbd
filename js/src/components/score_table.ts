// Faithfulness beside an attribution map: one line with the current map's scores (trait
// `faithfulness`), and the "Score all methods" button with the table of every method's scores
// (traits `compare` and `compare_skipped`, and `scoring` while the kernel computes it). The
// numbers come from the kernel; the front end only formats them and marks the best of a column.
import { Disposer, WidgetModel, action, h } from "./model";

export interface ScoreRow {
  method: string;
  label: string;
  deletion_auc: number;
  insertion_auc: number;
  average_drop: number;
}

export interface SkippedRow {
  method: string;
  label: string;
  reason: string;
}

const num = (v: unknown, digits = 3): string =>
  typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–";
const pct = (v: unknown): string =>
  typeof v === "number" && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "–";

/** The current map's scores as one line (data-testid="faithfulness"). */
export function faithfulnessLine(model: WidgetModel, d: Disposer, name = "faithfulness"): HTMLElement {
  const el = h("div", { class: "cnnw-caption cnnw-scores", "data-testid": name });
  const sync = () => {
    const f = model.get(name) ?? {};
    if (f.error) {
      el.textContent = `Faithfulness of ${f.label ?? "this map"}: ${f.error}`;
      el.dataset.state = "error";
    } else if (typeof f.deletion_auc === "number") {
      // The curve names in the chart's colours: the chart beside the widget has no legend.
      el.replaceChildren(
        h("span", { class: "cnnw-deletion" }, "Deletion"), ` AUC ${num(f.deletion_auc)} ↓ · `,
        h("span", { class: "cnnw-insertion" }, "Insertion"), ` AUC ${num(f.insertion_auc)} ↑ · `,
        `Average drop ${pct(f.average_drop)} ↓ · ` +
        `increase in confidence: ${f.increase_in_confidence ? "yes" : "no"}`,
      );
      el.dataset.state = "ready";
    } else {
      el.textContent = "";
      el.dataset.state = "empty";
    }
  };
  d.listen(model, name, sync);
  sync();
  return el;
}

type Column = { key: keyof ScoreRow; title: string; lowerIsBetter: boolean; fmt: (v: unknown) => string };

const COLUMNS: Column[] = [
  { key: "deletion_auc", title: "Deletion AUC ↓", lowerIsBetter: true, fmt: (v) => num(v) },
  { key: "insertion_auc", title: "Insertion AUC ↑", lowerIsBetter: false, fmt: (v) => num(v) },
  { key: "average_drop", title: "Average drop ↓", lowerIsBetter: true, fmt: pct },
];

/** The best row index of each column (lowest or highest), -1 when no finite value. */
export function bestRows(rows: ScoreRow[]): Record<string, number> {
  const best: Record<string, number> = {};
  for (const c of COLUMNS) {
    let at = -1;
    rows.forEach((r, i) => {
      const v = r[c.key];
      if (typeof v !== "number" || !Number.isFinite(v)) return;
      const cur = at < 0 ? undefined : (rows[at][c.key] as number);
      if (cur === undefined || (c.lowerIsBetter ? v < cur : v > cur)) at = i;
    });
    best[c.key] = at;
  }
  return best;
}

/**
 * The "Score all methods" button (data-testid="score_all", sends the `score_all` action) and the
 * table of every method's scores (data-testid="compare"), hidden until there is something to
 * show. While the kernel scores (`scoring`), the button is disabled and the table says so.
 */
export function scoreAll(model: WidgetModel, d: Disposer,
                         opts: { rows?: string; skipped?: string; current?: string; busy?: string } = {})
    : { button: HTMLButtonElement; table: HTMLElement } {
  const rowsName = opts.rows ?? "compare";
  const skippedName = opts.skipped ?? "compare_skipped";
  const currentName = opts.current ?? "method";
  const busyName = opts.busy ?? "scoring";
  const button = h("button", { type: "button", class: "cnnw-button", "data-testid": "score_all" },
    "Score all methods");
  const table = h("div", { class: "cnnw-score-table", "data-testid": rowsName });

  const draw = () => {
    const pending = Boolean(model.get(busyName));
    button.disabled = pending;
    const rows: ScoreRow[] = model.get(rowsName) ?? [];
    const skipped: SkippedRow[] = model.get(skippedName) ?? [];
    table.replaceChildren();
    table.dataset.rows = String(rows.length);
    table.dataset.pending = String(pending);
    if (pending) {
      table.append(h("div", { class: "cnnw-caption" }, "Scoring every method on this image…"));
    }
    table.hidden = !pending && rows.length === 0 && skipped.length === 0;
    if (rows.length) {
      const best = bestRows(rows);
      const current = model.get(currentName);
      const head = h("tr", {}, h("th", { scope: "col" }, "Method"),
        ...COLUMNS.map((c) => h("th", { scope: "col" }, c.title)));
      const body = rows.map((r, i) => {
        const tr = h("tr", { "data-method": r.method }, h("th", { scope: "row" }, r.label ?? r.method));
        if (r.method === current) tr.classList.add("cnnw-current");
        for (const c of COLUMNS) {
          const td = h("td", {}, c.fmt(r[c.key]));
          if (best[c.key] === i) td.classList.add("cnnw-best");
          tr.append(td);
        }
        return tr;
      });
      table.append(h("table", {}, h("thead", {}, head), h("tbody", {}, ...body)));
    }
    if (skipped.length) {
      const list = h("div", { class: "cnnw-caption", "data-testid": "compare_skipped" },
        "Not scored: " + skipped.map((s) => `${s.label ?? s.method} (${s.reason})`).join("; "));
      table.append(list);
    }
  };
  d.dom(button, "click", () => action(model, "score_all"));
  for (const name of [rowsName, skippedName, currentName, busyName]) d.listen(model, name, draw);
  draw();
  return { button, table };
}

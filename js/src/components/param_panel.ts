// The parameters of the chosen method, drawn from the specs the kernel sends (an engine
// registry's entry: name, kind, default, min/max/step, choices, label, help) and bound to one
// dict trait of values. The front end knows no method and no parameter by name: a method a
// user registers from a notebook gets its panel the same way.
import { Disposer, WidgetModel, h, setTrait } from "./model";

export interface ParamSpec {
  name: string;
  kind: "int" | "float" | "bool" | "choice" | "str" | "any";
  label: string;
  help?: string;
  default?: unknown;
  min?: number;
  max?: number;
  step?: number;
  choices?: (string | number)[];
}

function format(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 1 ? 2 : 1);
}

interface Control {
  el: HTMLElement;
  /** shows a value that came from the kernel, without sending it back */
  show(v: unknown): void;
}

/** One control for one parameter; `set` sends the new value. */
function control(spec: ParamSpec, value: unknown, set: (v: unknown) => void, d: Disposer): Control {
  const testid = `param-${spec.name}`;
  const label = h("span", { class: "cnnw-label" }, spec.label);
  const field = (input: HTMLElement, ...rest: HTMLElement[]) => {
    const wrap = h("label", { class: "cnnw-field" }, label, input, ...rest);
    if (spec.help) wrap.title = spec.help;
    // Typing or arrow keys in a parameter must not reach JupyterLab's notebook shortcuts.
    d.dom(input, "keydown", (e: KeyboardEvent) => e.stopPropagation());
    return wrap;
  };
  if (spec.kind === "bool") {
    const input = h("input", { type: "checkbox", "data-testid": testid, "aria-label": spec.label });
    input.checked = Boolean(value);
    d.dom(input, "change", () => set(input.checked));
    return { el: field(input), show: (v) => { input.checked = Boolean(v); } };
  }
  if (spec.kind === "choice") {
    const sel = h("select", { "data-testid": testid, "aria-label": spec.label });
    for (const c of spec.choices ?? []) sel.append(h("option", { value: String(c) }, String(c)));
    sel.value = String(value);
    d.dom(sel, "change", () => {
      const picked = (spec.choices ?? []).find((c) => String(c) === sel.value);
      set(picked ?? sel.value);
    });
    return { el: field(sel), show: (v) => { sel.value = String(v); } };
  }
  if (spec.kind === "int" || spec.kind === "float") {
    const integer = spec.kind === "int";
    const bounded = spec.min !== undefined && spec.max !== undefined;
    const input = h("input", {
      type: bounded ? "range" : "number", "data-testid": testid, "aria-label": spec.label,
    });
    if (spec.min !== undefined) input.min = String(spec.min);
    if (spec.max !== undefined) input.max = String(spec.max);
    input.step = String(spec.step ?? (integer ? 1 : "any"));
    input.value = String(value);
    const shown = h("output", { class: "cnnw-value", "data-testid": `${testid}-value` }, format(Number(value)));
    const read = () => {
      const v = Number(input.value);
      return integer ? Math.round(v) : v;
    };
    // A range sends while it moves (the kernel debounces); a number field when it is left.
    d.dom(input, bounded ? "input" : "change", () => {
      const v = read();
      if (!Number.isFinite(v)) return;
      shown.textContent = format(v);
      set(v);
    });
    return {
      el: bounded ? field(input, shown) : field(input),
      show: (v) => { input.value = String(v); shown.textContent = format(Number(v)); },
    };
  }
  const input = h("input", { type: "text", "data-testid": testid, "aria-label": spec.label });
  input.value = String(value ?? "");
  d.dom(input, "change", () => set(input.value));
  return { el: field(input), show: (v) => { input.value = String(v ?? ""); } };
}

/** Controls for `specsTrait` (a list of ParamSpec) bound to `valuesTrait` (a dict). */
export function paramPanel(model: WidgetModel, specsTrait: string, valuesTrait: string,
                           d: Disposer): HTMLElement {
  const panel = h("span", { class: "cnnw-controls cnnw-params", "data-testid": specsTrait });
  let inner = new Disposer();
  let controls = new Map<string, Control>();
  d.add(() => inner.dispose());
  const value = (s: ParamSpec) => {
    const values: Record<string, unknown> = model.get(valuesTrait) ?? {};
    return s.name in values ? values[s.name] : s.default;
  };
  // Controls are rebuilt only when the method (its specs) changes; a new value only moves
  // them, so a slider being dragged is never replaced under the pointer.
  const draw = () => {
    inner.dispose();
    inner = new Disposer();
    const specs: ParamSpec[] = (model.get(specsTrait) ?? []).filter((s: ParamSpec) => s.kind !== "any");
    controls = new Map(specs.map((s) => [s.name, control(s, value(s),
      (v) => setTrait(model, valuesTrait, { ...(model.get(valuesTrait) ?? {}), [s.name]: v }), inner)]));
    panel.replaceChildren(...[...controls.values()].map((c) => c.el));
    panel.hidden = specs.length === 0;
  };
  const sync = () => {
    for (const s of (model.get(specsTrait) ?? []) as ParamSpec[]) controls.get(s.name)?.show(value(s));
  };
  d.listen(model, specsTrait, draw);
  d.listen(model, valuesTrait, sync);
  draw();
  return panel;
}

// A labelled <select> bound to a trait. Options come from a list trait (`<name>_options` by
// default) so the kernel decides them (layers of the model, top predictions, ...). An option is
// a value or a [label, value] pair; values keep their type (a class index stays a number).
import { Disposer, WidgetModel, h, setTrait } from "./model";

export type Option = string | number | [string, string | number];

export interface SelectOptions {
  label: string;
  /** a trait holding the options; defaults to `${name}_options` */
  optionsTrait?: string;
  /** fixed options, when they never change */
  options?: Option[];
  testid?: string;
}

function pair(o: Option): [string, string | number] {
  return Array.isArray(o) ? [String(o[0]), o[1]] : [String(o), o];
}

export function select(model: WidgetModel, name: string, opts: SelectOptions,
                       d: Disposer): HTMLElement {
  const sel = h("select", { "data-testid": opts.testid ?? name, "aria-label": opts.label });
  const wrap = h("label", { class: "cnnw-field" }, h("span", { class: "cnnw-label" }, opts.label), sel);
  const optionsTrait = opts.optionsTrait ?? `${name}_options`;
  let values: (string | number)[] = [];

  const fill = () => {
    const list: Option[] = opts.options ?? model.get(optionsTrait) ?? [];
    values = [];
    sel.replaceChildren();
    for (const o of list) {
      const [label, value] = pair(o);
      values.push(value);
      sel.append(h("option", { value: String(values.length - 1) }, label));
    }
    sync();
  };
  const sync = () => {
    const current = model.get(name);
    const i = values.findIndex((v) => v === current || String(v) === String(current));
    sel.value = i >= 0 ? String(i) : "";
  };

  d.dom(sel, "change", () => {
    const i = Number(sel.value);
    if (i >= 0 && i < values.length) setTrait(model, name, values[i]);
  });
  // Arrow keys in a focused <select> would otherwise reach JupyterLab's notebook shortcuts.
  d.dom(sel, "keydown", (e: KeyboardEvent) => e.stopPropagation());
  d.listen(model, name, sync);
  if (!opts.options) d.listen(model, optionsTrait, fill);
  fill();
  return wrap;
}

// A labelled range slider with its value beside it, bound to a numeric trait. Bounds can be
// fixed or follow traits (a channel slider's max follows the layer's channel count).
import { Disposer, WidgetModel, h, setTrait } from "./model";

export interface SliderOptions {
  label: string;
  min?: number;
  max?: number;
  step?: number;
  minTrait?: string;
  maxTrait?: string;
  /** how to print the value (default: as is, up to 3 decimals) */
  format?: (v: number) => string;
  testid?: string;
}

function defaultFormat(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 1 ? 2 : 1);
}

export function slider(model: WidgetModel, name: string, opts: SliderOptions,
                       d: Disposer): HTMLElement {
  const testid = opts.testid ?? name;
  const input = h("input", { type: "range", "data-testid": testid, "aria-label": opts.label });
  const value = h("output", { class: "cnnw-value", "data-testid": `${testid}-value` });
  const wrap = h("label", { class: "cnnw-field cnnw-slider" },
    h("span", { class: "cnnw-label" }, opts.label), input, value);
  const format = opts.format ?? defaultFormat;

  const bounds = () => {
    input.min = String(opts.minTrait ? model.get(opts.minTrait) : opts.min ?? 0);
    input.max = String(opts.maxTrait ? model.get(opts.maxTrait) : opts.max ?? 1);
    input.step = String(opts.step ?? 1);
  };
  const sync = () => {
    const v = Number(model.get(name));
    input.value = String(v);
    value.textContent = format(v);
  };

  d.dom(input, "input", () => {
    const v = Number(input.value);
    value.textContent = format(v);
    setTrait(model, name, v);
  });
  // JupyterLab binds arrow keys (and others) on the notebook; keep them for the slider.
  d.dom(input, "keydown", (e: KeyboardEvent) => e.stopPropagation());
  d.listen(model, name, sync);
  if (opts.minTrait) d.listen(model, opts.minTrait, () => { bounds(); sync(); });
  if (opts.maxTrait) d.listen(model, opts.maxTrait, () => { bounds(); sync(); });
  bounds();
  sync();
  return wrap;
}

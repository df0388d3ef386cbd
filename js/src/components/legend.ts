// A colour legend: the colour bar picture from a Bytes trait with its numbers under it (a list
// of strings from another trait, spread from the low end on the left to the high end on the
// right: [min, max] or [min, 0, max] for a map centred on 0).
import { Disposer, WidgetModel, h } from "./model";
import { imageView } from "./image_view";

export function legend(model: WidgetModel, barTrait: string, labelsTrait: string, d: Disposer,
                       testid = barTrait): HTMLElement {
  const labels = h("div", { class: "cnnw-legend-labels", "data-testid": `${testid}-labels` });
  const sync = () => {
    const values: unknown[] = model.get(labelsTrait) ?? [];
    labels.replaceChildren(...values.map((v) => h("span", {}, String(v))));
  };
  d.listen(model, labelsTrait, sync);
  sync();
  return h("div", { class: "cnnw-legend" },
    imageView(model, barTrait, { alt: "colour scale", testid }, d), labels);
}

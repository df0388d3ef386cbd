// FilterViewer: layer and mode pickers, the grid of filters (click one to enlarge it), a filter
// slider, and the chosen filter with its weights.
import {
  Disposer, RenderProps, figure, gridClick, frame, imageView, select, setTrait, slider, textView,
} from "../components";

function render({ model, el }: RenderProps): () => void {
  const d = new Disposer();
  const f = frame(model, el, "filter-viewer", d);
  f.controls.append(
    select(model, "layer", { label: "Layer" }, d),
    select(model, "mode", { label: "Show" }, d),
    slider(model, "filter", { label: "Filter", min: 0, maxTrait: "filter_max" }, d),
  );
  const view = imageView(model, "view", {
    alt: "filters", pixelated: true,
    onClick: gridClick(model, (c) => setTrait(model, "filter", c)),
  }, d);
  f.body.append(
    figure(textView(model, "caption", d), view),
    figure(textView(model, "weights", d, "cnnw-caption cnnw-mono"),
      imageView(model, "detail", { alt: "chosen filter", pixelated: true }, d)),
  );
  return () => d.dispose();
}

export default { render };

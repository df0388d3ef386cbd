// FeatureMapViewer: layer picker, order and colormap, a grid of channels (click to enlarge),
// a channel slider and the chosen channel beside the input photo.
import {
  Disposer, RenderProps, dropZone, figure, frame, imageView, select, setTrait, slider, textView,
  uploadButton,
} from "../components";

const ORDERS: [string, string][] = [["strongest first", "activation"], ["in order", "index"]];

function render({ model, el }: RenderProps): () => void {
  const d = new Disposer();
  const f = frame(model, el, "feature-map-viewer", d);
  f.controls.append(
    select(model, "layer", { label: "Layer" }, d),
    select(model, "order", { label: "Order", options: ORDERS }, d),
    select(model, "colormap", { label: "Colormap" }, d),
    slider(model, "channel", { label: "Channel", min: 0, maxTrait: "channel_max" }, d),
    uploadButton(model, d),
  );
  const view = imageView(model, "view", {
    alt: "feature maps", pixelated: true,
    onClick: (x, y) => {
      const layout = model.get("grid_layout") ?? {};
      const ncols = Number(layout.ncols ?? 0);
      const nrows = Number(layout.nrows ?? 0);
      const channels: number[] = layout.channels ?? [];
      const i = Math.min(Math.floor(y * nrows), nrows - 1) * ncols + Math.min(Math.floor(x * ncols), ncols - 1);
      if (i >= 0 && i < channels.length) setTrait(model, "channel", channels[i]);
    },
  }, d);
  f.body.append(
    figure(null, view),
    figure(textView(model, "caption", d),
      imageView(model, "photo", { alt: "input" }, d),
      imageView(model, "detail", { alt: "chosen channel", pixelated: true }, d)),
  );
  dropZone(model, f.root, d);
  return () => d.dispose();
}

export default { render };

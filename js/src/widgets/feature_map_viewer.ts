// FeatureMapViewer: layer picker, order and colormap, a grid of channels (click to enlarge),
// a channel slider and the chosen channel beside the input photo.
import {
  Disposer, RenderProps, dropZone, figure, gridClick, frame, imageView, select, setTrait, slider, textView,
  uploadButton,
} from "../components";

function render({ model, el }: RenderProps): () => void {
  const d = new Disposer();
  const f = frame(model, el, "feature-map-viewer", d);
  f.controls.append(
    select(model, "layer", { label: "Layer" }, d),
    select(model, "order", { label: "Order" }, d),
    select(model, "colormap", { label: "Colormap" }, d),
    slider(model, "channel", { label: "Channel", min: 0, maxTrait: "channel_max" }, d),
    uploadButton(model, d),
  );
  const view = imageView(model, "view", {
    alt: "feature maps", pixelated: true,
    onClick: gridClick(model, (c) => setTrait(model, "channel", c)),
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

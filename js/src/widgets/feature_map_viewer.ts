// FeatureMapViewer: layer picker, order, colormap and colour scale, a grid of channels (click to
// enlarge, hover names the channel), a channel slider; beside the grid the chosen channel with
// its colour legend and the value under the pointer, and the input photo.
import {
  Disposer, RenderProps, dropZone, figure, gridClick, frame, h, hoverReadout, imageView, legend,
  select, setTrait, slider, textView, tileAt, uploadButton,
} from "../components";

function render({ model, el }: RenderProps): () => void {
  const d = new Disposer();
  const f = frame(model, el, "feature-map-viewer", d);
  f.controls.append(
    select(model, "layer", { label: "Layer" }, d),
    select(model, "order", { label: "Order" }, d),
    select(model, "colormap", { label: "Colormap" }, d),
    select(model, "scale", { label: "Colours" }, d),
    slider(model, "channel", { label: "Channel", min: 0, maxTrait: "channel_max" }, d),
    uploadButton(model, d),
  );
  const view = imageView(model, "view", {
    alt: "feature maps", pixelated: true,
    onClick: gridClick(model, (c) => setTrait(model, "channel", c)),
  }, d);
  // Which channel a tile is, before clicking it.
  const tile = h("div", { class: "cnnw-caption cnnw-readout", "data-testid": "view-hover" });
  d.dom(view, "mousemove", (e: MouseEvent) => {
    const r = view.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return;
    const c = tileAt(model.get("grid_layout"), (e.clientX - r.left) / r.width,
      (e.clientY - r.top) / r.height);
    tile.textContent = c === undefined ? "" : `channel ${c} (click to enlarge)`;
  });
  d.dom(view, "mouseleave", () => { tile.textContent = ""; });

  const detail = imageView(model, "detail", { alt: "chosen channel", pixelated: true }, d);
  f.body.append(
    figure(tile, view),
    h("div", { class: "cnnw-side" },
      textView(model, "caption", d),
      detail,
      legend(model, "legend", "legend_labels", d),
      hoverReadout(model, detail, "readout", d, "detail-hover"),
      imageView(model, "photo", { alt: "input" }, d)),
  );
  dropZone(model, f.root, d);
  return () => d.dispose();
}

export default { render };

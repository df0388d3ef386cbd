// SpectrumViewer: Start / Stop of the scan with its progress, a channel slider, the
// optimized-columns switch, and the six-column figure.
import {
  Disposer, RenderProps, checkbox, figure, frame, h, imageView, progressBar, slider, startStop,
  textView,
} from "../components";

function render({ model, el }: RenderProps): () => void {
  const d = new Disposer();
  const f = frame(model, el, "spectrum-viewer", d);
  f.controls.append(
    h("span", { class: "cnnw-label" }, "Layer "),
    textView(model, "layer", d, "cnnw-value"),
    slider(model, "channel", { label: "Channel", minTrait: "channel_min", maxTrait: "channel_max" }, d),
    checkbox(model, "optimized", "optimized images", d),
    startStop(model, d, { start: "Scan", stop: "Stop" }),
  );
  f.body.append(figure(progressBar(model, d),
    imageView(model, "view", { alt: "dataset examples" }, d)));
  return () => d.dispose();
}

export default { render };

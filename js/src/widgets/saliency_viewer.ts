// SaliencyViewer: method and target pickers, the method's parameters, alpha, and the map over
// the photo beside the photo itself.
import {
  Disposer, RenderProps, dropZone, figure, frame, h, imageView, select, slider, textView,
  uploadButton,
} from "../components";

function render({ model, el }: RenderProps): () => void {
  const d = new Disposer();
  const f = frame(model, el, "saliency-viewer", d);
  const smooth = h("span", { class: "cnnw-controls" },
    slider(model, "n_samples", { label: "Samples", min: 1, max: 100 }, d),
    slider(model, "noise", { label: "Noise", min: 0, max: 0.5, step: 0.01 }, d));
  const integrated = h("span", { class: "cnnw-controls" },
    slider(model, "steps", { label: "Steps", min: 2, max: 200 }, d));
  const showParams = () => {
    const method = model.get("method");
    smooth.hidden = method !== "smoothgrad";
    integrated.hidden = method !== "integrated_gradients";
  };
  d.listen(model, "method", showParams);
  showParams();
  f.controls.append(
    select(model, "method", { label: "Method" }, d),
    select(model, "target", { label: "Class" }, d),
    select(model, "compare_target", { label: "Compare with" }, d),
    smooth,
    integrated,
    slider(model, "alpha", { label: "Alpha", min: 0, max: 1, step: 0.05 }, d),
    uploadButton(model, d),
  );
  f.body.append(
    figure(textView(model, "caption", d), imageView(model, "view", { alt: "saliency map" }, d)),
    figure(null, imageView(model, "photo", { alt: "input" }, d)),
  );
  dropZone(model, f.root, d);
  return () => d.dispose();
}

export default { render };

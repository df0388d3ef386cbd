// SaliencyViewer: method and target pickers, the chosen method's own parameters (drawn from the
// kernel's registry specs), alpha, and the map over the photo beside the photo itself. Below:
// how faithful the map is (deletion / insertion areas, average drop; the curves are the bqplot
// chart beside the widget), every method's scores on demand, and the sanity check on a model
// with randomised top layers.
import {
  Disposer, RenderProps, hoverReadout, checkbox, dropZone, figure, frame, imageView, paramPanel, select, slider,
  textView, uploadButton,
} from "../components";
import { faithfulnessLine, scoreAll } from "../components/score_table";

function render({ model, el }: RenderProps): () => void {
  const d = new Disposer();
  const f = frame(model, el, "saliency-viewer", d);
  const scores = scoreAll(model, d);
  f.controls.append(
    select(model, "method", { label: "Method" }, d),
    paramPanel(model, "method_params", "params", d),
    select(model, "target", { label: "Class" }, d),
    select(model, "compare_target", { label: "Compare with" }, d),
    slider(model, "alpha", { label: "Alpha", min: 0, max: 1, step: 0.05 }, d),
    checkbox(model, "sanity", "Sanity check", d),
    scores.button,
    uploadButton(model, d),
  );
  const view = imageView(model, "view", { alt: "{alt}" }, d);
  const mapFigure = figure(textView(model, "caption", d), view,
    hoverReadout(model, view, "readout", d, "view-hover"));
  f.body.append(
    mapFigure,
    figure(null, imageView(model, "photo", { alt: "input" }, d)),
  );
  f.root.append(faithfulnessLine(model, d), scores.table, textView(model, "method_help", d, "cnnw-help"));
  dropZone(model, f.root, d);
  return () => d.dispose();
}

export default { render };

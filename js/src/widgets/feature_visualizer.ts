// FeatureVisualizer: layer and channel (or objectives), parameterization, regularisation and
// steps; Start / Stop; the image animating while it optimises; progress with step and loss; a
// Save button that downloads the picture.
import {
  Disposer, RenderProps, checkbox, figure, frame, h, imageView, paramPanel, progressBar, select,
  slider,
  startStop, textInput, toBytes, sniffMime,
} from "../components";

function render({ model, el }: RenderProps): () => void {
  const d = new Disposer();
  const f = frame(model, el, "feature-visualizer", d);
  const save = h("button", { type: "button", class: "cnnw-button", "data-testid": "save" }, "Save");
  d.dom(save, "click", () => {
    const bytes = toBytes(model.get("view"));
    const mime = sniffMime(bytes);
    if (!mime) return;
    const a = h("a", { download: `feature-${model.get("layer")}-${model.get("channel")}.png` });
    a.href = URL.createObjectURL(new Blob([bytes.slice()], { type: mime }));
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });
  const buttons = startStop(model, d);
  buttons.append(save);
  f.controls.append(
    select(model, "kind", { label: "Objective" }, d),
    paramPanel(model, "kind_params", "kind_values", d),
    select(model, "layer", { label: "Layer" }, d),
    slider(model, "channel", { label: "Channel", min: 0, maxTrait: "channel_max" }, d),
    textInput(model, "objective", "Objectives", d, "layer:channel, ..."),
    select(model, "param", { label: "Parameterization" }, d),
    paramPanel(model, "param_params", "param_values", d),
    checkbox(model, "decorrelate", "decorrelated colour", d),
    slider(model, "tv", { label: "TV", min: 0, max: 1, step: 0.01 }, d),
    slider(model, "l2", { label: "L2", min: 0, max: 1, step: 0.01 }, d),
    slider(model, "steps", { label: "Steps", min: 1, max: 2048 }, d),
    buttons,
  );
  f.body.append(figure(progressBar(model, d),
    imageView(model, "view", { alt: "feature visualization" }, d)));
  return () => d.dispose();
}

export default { render };

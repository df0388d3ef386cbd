// TrainingMonitor: Start / Stop, epochs and learning rate, a progress bar with the status line.
// The live curves are bqplot figures that the kernel shows beside this view (in one VBox); the
// `view` picture is the static figure of the last run's curves, folded away under "Figure".
import {
  Disposer, RenderProps, frame, h, imageView, progressBar, select, slider, startStop,
} from "../components";

const RATES: [string, number][] = [
  ["0.0001", 1e-4], ["0.0003", 3e-4], ["0.001", 1e-3], ["0.003", 3e-3], ["0.01", 1e-2], ["0.03", 3e-2],
];

function render({ model, el }: RenderProps): () => void {
  const d = new Disposer();
  const f = frame(model, el, "training-monitor", d);
  f.controls.append(
    startStop(model, d),
    slider(model, "epochs", { label: "Epochs", min: 1, max: 50 }, d),
    select(model, "lr", { label: "Learning rate", options: RATES }, d),
    progressBar(model, d),
  );
  const details = h("details", { "data-testid": "figure" },
    h("summary", { class: "cnnw-caption" }, "Figure of the last run (PNG)"),
    imageView(model, "view", { alt: "loss and accuracy curves" }, d));
  f.body.append(details);
  return () => d.dispose();
}

export default { render };

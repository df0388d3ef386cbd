// Explorer's header: image upload (file picker, or drop a file on it or on any part), the
// shared layer picker, the photo as the model sees it and its top predictions. It is the
// dashboard's one upload control: the kernel gives a picture dropped on any part to every part
// (and the dashboard's CSS hides the parts' own upload buttons and photos).
import {
  Disposer, RenderProps, dropZone, figure, frame, h, imageView, select, textView, uploadButton,
} from "../components";

function render({ model, el }: RenderProps): () => void {
  const d = new Disposer();
  const f = frame(model, el, "explorer", d);
  f.controls.append(
    uploadButton(model, d),
    select(model, "layer", { label: "Layer" }, d),
    h("span", { class: "cnnw-label" }, "or drop one on the dashboard"),
  );
  f.body.append(
    figure(null, imageView(model, "view", { alt: "input" }, d)),
    figure(null, h("div", { class: "cnnw-label" }, "Top predictions"),
      textView(model, "predictions", d, "cnnw-caption cnnw-mono")),
  );
  dropZone(model, f.root, d);
  return () => d.dispose();
}

export default { render };

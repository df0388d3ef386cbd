"""Self-check of the browser harness with a toy anywidget defined in the notebook itself.

It exercises every helper the widget tests rely on (select, slider keys, start/stop frames,
upload and error banner, in-page paint timing) against a widget whose behaviour we know, so a
failure here points at the harness or the environment, not at cnnwidgets.
"""

from __future__ import annotations

from .harness import fps

TOY = r'''
import io, threading, time
import anywidget, traitlets
from PIL import Image, ImageDraw

def png(color, text):
    im = Image.new("RGB", (96, 96), color)
    ImageDraw.Draw(im).text((6, 40), text, fill="white")
    b = io.BytesIO(); im.save(b, "PNG"); return b.getvalue()

class Toy(anywidget.AnyWidget):
    _esm = """
    function el_(tag, attrs, parent) {
      const e = document.createElement(tag); Object.assign(e, attrs); parent.appendChild(e); return e;
    }
    function render({ model, el }) {
      const layer = el_('select', {}, el); layer.dataset.testid = 'layer';
      for (const v of ['red', 'green', 'blue']) el_('option', { value: v, textContent: v }, layer);
      layer.value = model.get('layer');
      layer.onchange = () => { model.set('layer', layer.value); model.save_changes(); };
      const ch = el_('input', { type: 'range', min: 0, max: 9, value: model.get('channel') }, el);
      ch.dataset.testid = 'channel';
      ch.addEventListener('keydown', (e) => e.stopPropagation());
      ch.oninput = () => { model.set('channel', Number(ch.value)); model.save_changes(); };
      const start = el_('button', { textContent: 'start' }, el); start.dataset.testid = 'start';
      start.onclick = () => model.send({ event: 'start' });
      const stop = el_('button', { textContent: 'stop' }, el); stop.dataset.testid = 'stop';
      stop.onclick = () => model.send({ event: 'stop' });
      const up = el_('input', { type: 'file' }, el); up.dataset.testid = 'upload';
      up.onchange = async () => {
        const buf = await up.files[0].arrayBuffer();
        model.set('upload', new DataView(buf)); model.save_changes();
      };
      const err = el_('div', {}, el); err.dataset.testid = 'error';
      const img = el_('img', {}, el); img.dataset.testid = 'view';
      let url = null;
      const draw = () => {
        const v = model.get('view');
        if (url) URL.revokeObjectURL(url);
        url = URL.createObjectURL(new Blob([new Uint8Array(v.buffer, v.byteOffset, v.byteLength)],
                                           { type: 'image/png' }));
        img.src = url;
      };
      const showErr = () => { err.textContent = model.get('error'); err.style.display = model.get('error') ? '' : 'none'; };
      model.on('change:view', draw); model.on('change:error', showErr);
      draw(); showErr();
      return () => { model.off('change:view', draw); model.off('change:error', showErr); };
    }
    export default { render };
    """
    layer = traitlets.Unicode("red").tag(sync=True)
    channel = traitlets.Int(0).tag(sync=True)
    view = traitlets.Bytes(b"").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    # A DataView from the page arrives as a memoryview, which traitlets.Bytes refuses.
    upload = traitlets.Any(b"").tag(sync=True)

    def __init__(self, **kw):
        super().__init__(**kw)
        self._stop = threading.Event()
        self._thread = None
        self._draw()
        self.observe(lambda _: self._draw(), ["layer", "channel"])
        self.observe(self._on_upload, ["upload"])
        self.on_msg(self._on_msg)

    def _draw(self):
        self.view = png(self.layer, f"ch {self.channel}")

    def _on_upload(self, change):
        try:
            Image.open(io.BytesIO(bytes(change["new"]))).load()
            self.error = ""
        except Exception as e:
            self.error = f"not an image: {e}"

    def _on_msg(self, _, content, buffers):
        if content.get("event") == "start" and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        elif content.get("event") == "stop" and self._thread is not None:
            self._stop.set(); self._thread.join(); self._thread = None

    def _loop(self):
        i = 0
        while not self._stop.is_set():
            i += 1
            self.view = png((i * 37 % 256, i * 91 % 256, 120), f"frame {i}")
            time.sleep(0.1)

Toy()
'''


def test_harness_self_check(lab):
    lab.open_notebook("harness.ipynb", [TOY])
    w = lab.widget(0)
    w.wait_painted()
    w.screenshot("shown")

    first = w.png()
    c = w.change("layer", lambda: w.select("layer", label="blue"))
    assert c.after != c.before and c.latency_ms > 0
    assert w.png() != first, "the screenshot of the view did not change with the layer"
    w.screenshot("layer-blue")

    # ArrowUp, because JupyterLab binds it in command mode (select the cell above): it must reach
    # the slider all the same.
    c = w.change("channel", lambda: w.press("channel", "ArrowUp"))
    assert w.value("channel") == "1"

    w.wait_quiet()
    w.click("start")
    frames = w.frames(3)
    assert len(frames) >= 3, f"only {len(frames)} frames in 3 s"
    assert fps(frames) > 0
    w.screenshot("running")
    w.click("stop")
    w.frames(1.5)  # the last frame may still be on its way
    after = w.frames(2)
    assert after == [], f"{len(after)} frames arrived after stop"

    w.upload("upload", "notes.txt", b"this is not an image", "text/plain")
    text = w.wait_error()
    assert "not an image" in text
    w.screenshot("error")

"""The feature-visualization loop on a tiny CNN: result format, the iterator (frames, early
stop), determinism, model left as found, truncated forward, errors before the first step."""

import io
import threading

import numpy as np
import pytest
import torch
from PIL import Image

import cnnwidgets as cw
from cnnwidgets.engines import featureviz as fv
from cnnwidgets.engines.featureviz.objectives import ObjectiveError
from cnnwidgets.render import grid, to_png

from .conftest import assert_left_as_found, model_snapshot

FAST = dict(size=12, steps=20, seed=0)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors gain nothing from intra-op threads, and on a shared, busy CPU their
    spin-waits cost more than the work."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _channel_mean(model, layer, images, channels):
    """Independent reference: upsample, normalise, full forward with a plain hook."""
    x = torch.as_tensor(np.asarray(images)).permute(0, 3, 1, 2)
    x = torch.nn.functional.interpolate(
        x, size=model.input_size, mode="bilinear", align_corners=False
    )
    out = {}
    h = model.module.get_submodule(layer).register_forward_hook(lambda m, i, o: out.update(o=o))
    try:
        with torch.no_grad():
            model.module(model.normalize(x))
    finally:
        h.remove()
    return np.array([float(out["o"][k, c].mean()) for k, c in enumerate(channels)])


def test_result_format_and_png(tiny_cnn, tmp_path):
    v = fv.visualize(tiny_cnn, ["conv2:1", "conv2:4", "-conv2:1"], **FAST)
    a = np.asarray(v)
    assert a.shape == (3, 12, 12, 3) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1
    assert v.losses.shape == (20,) and v.objective_values.shape == (3,)
    assert v.values_history.shape == (20, 3) and v.steps == 20 and v.seed == 0
    assert v.objectives == ["channel(conv2:1)", "channel(conv2:4)", "-channel(conv2:1)"]
    # the reported objective is the channel mean on the final image, without transforms
    ref = _channel_mean(tiny_cnn, "conv2", a, [1, 4, 1]) * np.array([1, 1, -1])
    np.testing.assert_allclose(v.objective_values, ref, rtol=1e-4, atol=1e-5)
    # the negative image turns the channel down, the positive one up
    assert ref[0] > -ref[2]
    # The picture of a result comes from render/, never from the engine.
    row = Image.open(io.BytesIO(to_png(grid(list(a), ncols=3, pad=2))))
    assert row.size == (3 * 12 + 4 * 2, 12 + 2 * 2)
    one = np.asarray(Image.open(io.BytesIO(to_png(a[1]))), dtype=np.float32) / 255
    np.testing.assert_allclose(one, a[1], atol=1 / 255 + 1e-6)
    assert not hasattr(v, "to_png")


def test_objective_rises(tiny_cnn):
    start = fv.visualize(tiny_cnn, "conv1:1", steps=0, size=12, seed=0).objective_values[0]
    end = fv.visualize(tiny_cnn, "conv1:1", steps=40, size=12, seed=0).objective_values[0]
    assert end > start + 0.1


def test_same_seed_same_images(tiny_cnn):
    a = np.asarray(fv.visualize(tiny_cnn, "conv2:0", **FAST))
    b = np.asarray(fv.visualize(tiny_cnn, "conv2:0", **FAST))
    c = np.asarray(fv.visualize(tiny_cnn, "conv2:0", **{**FAST, "seed": 1}))
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_iterator_frames_and_stops(tiny_cnn, no_thread_leak):
    run = fv.ascent(tiny_cnn, "conv2:2", steps=50, size=12, seed=0)
    before = model_snapshot(tiny_cnn)
    seen = []
    for step, images, loss in run:
        # between frames the model carries no hook, and is in its own modes
        assert_left_as_found(before, tiny_cnn)
        assert isinstance(loss, float)
        seen.append(step)
        if step == 3:
            assert np.asarray(images).shape == (1, 12, 12, 3)
            assert images[0].shape == (12, 12, 3) and images.shape == (1, 12, 12, 3)
        if step == 5:
            break
    assert seen == [1, 2, 3, 4, 5]
    assert run.result().steps == 5 and run.frame().shape == (1, 12, 12, 3)

    stop = threading.Event()
    run = fv.visualize(tiny_cnn, "conv2:2", steps=50, size=12, seed=0, stream=True, stop=stop)
    frames = []
    for f in run:
        frames.append(f)
        if f.step == 2:
            stop.set()
    assert [f.step for f in frames] == [1, 2]
    assert frames[0].values.shape == (1,) and frames[0].numpy().shape == (1, 12, 12, 3)
    assert "step 1" in repr(frames[0])


def test_model_left_as_found(tiny_cnn):
    tiny_cnn.module.train()
    tiny_cnn.module.conv1.weight.requires_grad_(False)
    before = model_snapshot(tiny_cnn)
    fv.visualize(tiny_cnn, fv.channel("conv2", 1) + fv.class_logit(2), steps=3, size=12)
    assert_left_as_found(before, tiny_cnn)


def _count_calls(module, fn):
    calls = []
    h = module.register_forward_hook(lambda *a: calls.append(1))
    try:
        fn()
    finally:
        h.remove()
    return len(calls)


def test_forward_stops_after_the_deepest_layer(tiny_cnn):
    fc = tiny_cnn.module.fc
    assert tiny_cnn.layers  # its probe runs the whole model: done before counting
    assert _count_calls(fc, lambda: fv.visualize(tiny_cnn, "conv2:0", steps=3, size=12)) == 0
    # a class logit needs the whole network
    n = _count_calls(fc, lambda: fv.visualize(tiny_cnn, fv.class_logit(1), steps=3, size=12))
    assert n >= 3


def test_class_logit_and_batch(tiny_cnn):
    v = fv.visualize(tiny_cnn, fv.class_logit(3), batch=2, steps=30, size=12, seed=0)
    assert np.asarray(v).shape == (2, 12, 12, 3)
    x = torch.nn.functional.interpolate(
        torch.as_tensor(v.images).permute(0, 3, 1, 2), size=16, mode="bilinear", align_corners=False
    )
    with torch.no_grad():
        logits = tiny_cnn.module(tiny_cnn.normalize(x))
    np.testing.assert_allclose(v.objective_values, logits[:, 3].numpy(), rtol=1e-4, atol=1e-5)
    # independent images: the two start from different noise
    assert not np.allclose(v.images[0], v.images[1])
    d = fv.visualize(
        tiny_cnn, fv.channel("conv2", 0) + fv.diversity("conv2"), batch=3, steps=5, size=12, seed=0
    )
    assert len(d) == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(param="pixel"),
        dict(param="pixel", decorrelate=False),
        dict(param="maco"),
        dict(valid="clamp"),
        dict(transforms=None),
        dict(transforms=[fv.Jitter(2)]),
        dict(input_size=12),
        dict(tv=0.1, l1=0.1, l2=0.1, blur=0.1),
    ],
)
def test_options_run(tiny_cnn, kwargs):
    v = fv.visualize(tiny_cnn, "conv2:1", steps=4, size=12, seed=0, **kwargs)
    a = np.asarray(v)
    assert a.shape == (1, 12, 12, 3) and np.isfinite(a).all() and 0 <= a.min() <= a.max() <= 1
    assert np.isfinite(v.losses).all()


def test_total_variation_weight_smooths(tiny_cnn):
    def tv(v):
        a = np.asarray(v)
        return np.abs(np.diff(a, axis=1)).mean() + np.abs(np.diff(a, axis=2)).mean()

    rough = fv.visualize(tiny_cnn, "conv1:0", steps=30, size=12, seed=0, param="pixel")
    smooth = fv.visualize(tiny_cnn, "conv1:0", steps=30, size=12, seed=0, param="pixel", tv=5.0)
    assert tv(smooth) < 0.7 * tv(rough)


def test_errors_before_the_first_step(tiny_cnn):
    with pytest.raises(cw.LayerNotFoundError):
        fv.ascent(tiny_cnn, "conv7:0")
    with pytest.raises(ObjectiveError, match="out of range"):
        fv.ascent(tiny_cnn, "conv2:6")
    with pytest.raises(ValueError, match="batch"):
        fv.ascent(tiny_cnn, ["conv2:0", "conv2:1"], batch=3)
    with pytest.raises(ValueError, match="unknown parameterization 'wavelet'"):
        fv.ascent(tiny_cnn, "conv2:0", param="wavelet")
    with pytest.raises(ValueError):
        fv.ascent(tiny_cnn, [])
    with pytest.raises(ValueError, match="batch"):
        fv.ascent(tiny_cnn, "conv2:0", batch=0)
    with pytest.raises(TypeError):
        fv.ascent("not a model", "conv2:0")
    # A bare module is refused as by every other engine: only a Model knows the preprocessing.
    with pytest.raises(TypeError, match="cw.load_model"):
        fv.ascent(tiny_cnn.module, "conv2:0")


class _Viewing(torch.nn.Module):
    """Flattens with .view(), which channels-last activations do not allow."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4 * 16 * 16, 3)

    def forward(self, x):
        h = self.conv(x)
        return self.fc(h.view(h.shape[0], -1))


def test_model_that_views_its_activations():
    torch.manual_seed(0)
    m = cw.load_model(_Viewing(), labels=["a", "b", "c"], input_size=16, device="cpu")
    with pytest.raises(RuntimeError):
        m.module(torch.zeros(1, 3, 16, 16).contiguous(memory_format=torch.channels_last))
    v = fv.visualize(m, fv.class_logit(1), steps=3, size=12, seed=0)
    assert np.asarray(v).shape == (1, 12, 12, 3)


def test_chunks_give_the_same_render(tiny_cnn):
    objs = ["conv2:0", "conv1:1", "-conv2:3"]
    whole = fv.visualize(tiny_cnn, objs, chunk=3, **FAST)
    ones = fv.visualize(tiny_cnn, objs, chunk=1, **FAST)
    np.testing.assert_allclose(ones.images, whole.images, atol=1e-4)
    np.testing.assert_allclose(ones.losses, whole.losses, rtol=1e-4, atol=1e-5)
    # diversity compares the images, so it needs them all in one pass
    run = fv.ascent(tiny_cnn, fv.channel("conv2", 0) + fv.diversity("conv2"), batch=3, chunk=1)
    assert run.chunk == 3
    with pytest.raises(ValueError, match="chunk"):
        fv.ascent(tiny_cnn, "conv2:0", chunk=0)


def test_objective_on_the_image_only(tiny_cnn):
    # no layer of the model is read: only the image is optimised, pushed away from grey
    away = fv.visualize(tiny_cnn, fv.l2(), steps=30, size=12, seed=0, param="pixel")
    start = fv.visualize(tiny_cnn, fv.l2(), steps=0, size=12, seed=0, param="pixel")
    assert np.abs(np.asarray(start) - 0.5).mean() < 0.01
    assert np.abs(np.asarray(away) - 0.5).mean() > 0.1
    assert away.objective_values[0] > 10 * start.objective_values[0]


def test_old_names_and_maco_flag_still_work_and_warn(tiny_cnn):
    with pytest.warns(FutureWarning, match="render_iter is now featureviz.ascent"):
        run = fv.render_iter(tiny_cnn, "conv2:1", steps=2, size=12, seed=0)
    assert isinstance(run, fv.Ascent)
    with pytest.warns(FutureWarning, match="param='maco'"):
        old = fv.visualize(tiny_cnn, "conv2:1", steps=2, size=12, seed=0, maco=True)
    new = fv.visualize(tiny_cnn, "conv2:1", steps=2, size=12, seed=0, param="maco")
    np.testing.assert_array_equal(np.asarray(old), np.asarray(new))


def test_a_users_parameterization_callable(tiny_cnn):
    """A constant-colour parameterization: three numbers per image, so the render must be flat."""

    class Flat(fv.ImageParam):
        def __init__(self, batch, size, generator=None, **common):
            super().__init__(batch, size, **common)
            self.colour = torch.zeros(batch, 3, 1, 1, device=self._device, requires_grad=True)
            self.tensors = [self.colour]

        def _raw(self):
            return self.colour.expand(-1, -1, *self.size)

    v = fv.visualize(tiny_cnn, "conv2:1", steps=5, size=12, seed=0, param=Flat, transforms=None)
    a = np.asarray(v)
    assert a.shape == (1, 12, 12, 3) and np.ptp(a[0].reshape(-1, 3), axis=0).max() < 1e-6
    assert not np.allclose(a[0, 0, 0], 0.5)  # it moved away from grey
    with pytest.raises(TypeError, match="parameters"):
        fv.visualize(tiny_cnn, "conv2:1", steps=1, size=12, param=lambda *a, **k: 3)

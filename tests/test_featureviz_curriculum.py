"""The rest of the Lucid curriculum, unit by unit: the objectives with a target image (feature
inversion, content, style, accentuation), the objectives across the batch (interpolation,
alignment), direction_neuron, and the CPPN and low-resolution parameterizations.

Each value is checked against an independent computation: numpy on the same activations,
lucent's own objectives (a peer implementation) where lucent has one, and target activations
taken with a plain forward hook. Bad input is refused before the first step.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cnnwidgets as cw
from cnnwidgets.core.errors import InputError, ParameterError
from cnnwidgets.engines import featureviz as fv
from cnnwidgets.engines.featureviz.objectives import BATCH_SIZE, INDEX, ObjectiveError


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _photo(size: int, seed: int = 0) -> np.ndarray:
    """A (size, size, 3) uint8 image: a target that already has the render's size."""
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _hooked(model, images: np.ndarray, layer: str) -> np.ndarray:
    """Activations of ``layer`` for uint8 HWC images fed as they are: a plain forward hook."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32) / 255).permute(0, 3, 1, 2)
    out = {}
    h = model.module.get_submodule(layer).register_forward_hook(lambda m, i, o: out.update(o=o))
    try:
        with torch.no_grad():
            model.module(model.normalize(x))
    finally:
        h.remove()
    return out["o"].numpy().astype(np.float64)


def _random_acts(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g)


def _bound(obj, model, batch=1):
    return obj.bind(fv.RenderSpec(model, batch, model.input_size))


# ---- objectives with a target image ----------------------------------------------------------
def test_activation_match_is_the_cosine_with_the_target(tiny_cnn):
    target = _photo(16)
    obj = _bound(fv.activation_match("conv2", target), tiny_cnn, batch=3)
    acts = {"conv2": _random_acts((3, 6, 16, 16))}
    t = _hooked(tiny_cnn, target[None], "conv2").reshape(-1)
    a = acts["conv2"].numpy().reshape(3, -1).astype(np.float64)
    ref = a @ t / (np.linalg.norm(a, axis=1) * np.linalg.norm(t))
    np.testing.assert_allclose(obj(acts).numpy(), ref, rtol=1e-5, atol=1e-6)
    # the target's own activations match perfectly
    same = {"conv2": torch.as_tensor(t.reshape(1, 6, 16, 16), dtype=torch.float32)}
    np.testing.assert_allclose(obj(same).numpy(), [1.0], atol=1e-6)


def test_one_target_per_image_follows_the_batch_index(tiny_cnn):
    targets = [_photo(16, seed=k) for k in range(3)]
    obj = _bound(fv.activation_match("conv1", targets), tiny_cnn, batch=3)
    t = _hooked(tiny_cnn, np.stack(targets), "conv1").reshape(3, -1)
    acts = _random_acts((3, 4, 16, 16))
    a = acts.numpy().reshape(3, -1).astype(np.float64)
    ref = (a * t).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(t, axis=1))
    np.testing.assert_allclose(obj({"conv1": acts}).numpy(), ref, rtol=1e-5)
    # a chunk holding image 2 alone compares it with target 2
    chunk = {"conv1": acts[2:], INDEX: torch.tensor([2]), BATCH_SIZE: 3}
    np.testing.assert_allclose(obj(chunk).numpy(), ref[2:], rtol=1e-5)
    with pytest.raises(InputError, match="3 images for a render of 2"):
        _bound(fv.activation_match("conv1", targets), tiny_cnn, batch=2)


def test_content_is_minus_the_mean_squared_difference(tiny_cnn):
    target = _photo(16, seed=4)
    obj = _bound(fv.content("conv1", target), tiny_cnn, batch=2)
    acts = _random_acts((2, 4, 16, 16), seed=2)
    t = _hooked(tiny_cnn, target[None], "conv1")
    ref = -((acts.numpy().astype(np.float64) - t) ** 2).reshape(2, -1).mean(1)
    np.testing.assert_allclose(obj({"conv1": acts}).numpy(), ref, rtol=1e-5)


def test_style_matches_gram_matrices_by_hand(tiny_cnn):
    style_img = _photo(16, seed=5)
    obj = _bound(fv.style(["conv1", "conv2"], style_img, weights=[2.0, 0.5]), tiny_cnn, 2)
    acts = {"conv1": _random_acts((2, 4, 16, 16), 1), "conv2": _random_acts((2, 6, 16, 16), 2)}

    def gram_np(a):  # (N, C, H, W) -> (N, C, C), averaged over positions
        f = a.reshape(a.shape[0], a.shape[1], -1)
        return np.einsum("nip,njp->nij", f, f) / f.shape[2]

    ref = 0
    for layer, w in (("conv1", 2.0), ("conv2", 0.5)):
        g = gram_np(acts[layer].numpy().astype(np.float64))
        s = gram_np(_hooked(tiny_cnn, style_img[None], layer))
        ref = ref + w * ((g - s) ** 2).mean((1, 2))
    np.testing.assert_allclose(obj(acts).numpy(), -ref, rtol=1e-5)
    assert obj.layers == {"conv1", "conv2"}
    # Gram matrices ignore where things are: a shifted copy of the style has the same style
    s = torch.as_tensor(_hooked(tiny_cnn, style_img[None], "conv1"), dtype=torch.float32)
    one = _bound(fv.style("conv1", style_img), tiny_cnn)
    rolled = torch.roll(s, shifts=(5, 3), dims=(2, 3))
    np.testing.assert_allclose(one({"conv1": rolled}).numpy(), [0.0], atol=1e-8)


def test_accentuate_formula(tiny_cnn):
    image = _photo(16, seed=6)
    obj = _bound(fv.accentuate("conv2:3", image, strength=0.7, reference="conv1"), tiny_cnn, 2)
    assert obj.layers == {"conv1", "conv2"}
    acts = {"conv1": _random_acts((2, 4, 16, 16), 3), "conv2": _random_acts((2, 6, 16, 16), 4)}
    r0 = _hooked(tiny_cnn, image[None], "conv1").reshape(1, -1)
    r = acts["conv1"].numpy().reshape(2, -1).astype(np.float64)
    unit = acts["conv2"].numpy()[:, 3].reshape(2, -1).mean(1)
    ref = 0.7 * unit - np.linalg.norm(r - r0, axis=1) / np.linalg.norm(r0)
    np.testing.assert_allclose(obj(acts).numpy(), ref, rtol=1e-5)
    # the reference defaults to the unit's own layer
    assert fv.accentuate("conv2:3", image).layers == {"conv2"}
    with pytest.raises(ObjectiveError, match="reference layer"):
        fv.accentuate(fv.channel("conv1", 0) + fv.channel("conv2", 0), image)


def test_target_objectives_must_be_bound(tiny_cnn):
    obj = fv.activation_match("conv1", _photo(16))
    with pytest.raises(ObjectiveError, match="not bound"):
        obj({"conv1": _random_acts((1, 4, 16, 16))})
    with pytest.raises(ObjectiveError, match="not bound"):
        fv.style("conv1", _photo(16))({"conv1": _random_acts((1, 4, 16, 16))})


def test_a_target_of_another_size_is_fitted_as_the_model_preprocesses(tiny_cnn):
    """Target at the render's size (12) by the model's resize and centre crop, then resampled
    to the input size (16) as a render is: compared with torchvision + F.interpolate."""
    from torchvision.transforms.v2 import functional as TF

    pil = cw.load_image("coffee")
    obj = fv.activation_match("conv1", "coffee").bind(fv.RenderSpec(tiny_cnn, 1, 16, 12))
    t = TF.pil_to_tensor(pil)
    t = TF.resize(t, round(12 * tiny_cnn.resize_size / 16), antialias=True)
    t = TF.center_crop(t, [12, 12]).float()[None] / 255
    x = F.interpolate(t, size=(16, 16), mode="bilinear", align_corners=False)
    ref = _hooked(tiny_cnn, (x.permute(0, 2, 3, 1).numpy() * 255), "conv1")
    got = obj.binders[0].__self__.acts["conv1"].numpy()
    np.testing.assert_allclose(got, ref, atol=1e-4)


def test_target_activations_are_computed_once_per_render(tiny_cnn):
    assert tiny_cnn.layers  # the model's one probe pass, before counting
    calls = []
    h = tiny_cnn.module.register_forward_pre_hook(lambda m, i: calls.append(i[0].shape[0]))
    try:
        fv.visualize(tiny_cnn, fv.activation_match("conv2", _photo(16)), steps=5, size=16, seed=0)
    finally:
        h.remove()
    # one pass for the target, one per step, one for the final evaluation
    assert len(calls) == 1 + 5 + 1


def test_a_target_that_fails_to_load_is_refused_at_once(tiny_cnn, tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    for bad in (tmp_path / "missing.png", tmp_path / "notes.txt", tmp_path, 3.5, None, []):
        with pytest.raises(InputError):
            fv.style(["conv1"], bad)
        with pytest.raises(InputError):
            fv.activation_match("conv1", bad)
    with pytest.raises(InputError, match="style image"):
        fv.style("conv1", np.zeros((5, 5, 7)))
    with pytest.raises(InputError, match="content image"):
        fv.content("conv1", "no such sample")
    with pytest.raises(InputError, match="accentuate"):
        fv.accentuate("conv1:0", object())


# ---- across the batch ---------------------------------------------------------------------------
def _lucent_objectives():
    from lucent.optvis import objectives as lo

    return lo


def test_channel_interpolate_against_lucent():
    lo = _lucent_objectives()
    acts = {"a": _random_acts((5, 4, 3, 3), 1), "b": _random_acts((5, 6, 3, 3), 2)}
    obj = fv.channel_interpolate("a:1", "b:4")
    assert not obj.batchwise  # each image reads only itself and its position
    mine = obj(acts)
    t = np.arange(5) / 4
    ref = (1 - t) * acts["a"][:, 1].mean((1, 2)).numpy() + t * acts["b"][:, 4].mean((1, 2)).numpy()
    np.testing.assert_allclose(mine.numpy(), ref, rtol=1e-5, atol=1e-6)
    # lucent's value is minus the sum over the batch
    theirs = lo.channel_interpolate("a", 1, "b", 4)(lambda name: acts[name])
    np.testing.assert_allclose(float(-mine.sum()), float(theirs), rtol=1e-5)
    # run chunk by chunk, each image still gets its own weight
    chunked = torch.cat(
        [
            obj(
                {
                    "a": acts["a"][k : k + 1],
                    "b": acts["b"][k : k + 1],
                    INDEX: torch.tensor([k]),
                    BATCH_SIZE: 5,
                }
            )
            for k in range(5)
        ]
    )
    np.testing.assert_allclose(chunked.numpy(), mine.numpy(), rtol=1e-6)


def test_channel_interpolate_needs_a_batch(tiny_cnn):
    with pytest.raises(ObjectiveError, match="batch of 2 or more"):
        fv.ascent(tiny_cnn, fv.channel_interpolate("conv1:0", "conv2:1"), steps=3, size=8)
    fv.ascent(tiny_cnn, fv.channel_interpolate("conv1:0", "conv2:1"), batch=2, steps=1, size=8)


def test_alignment_against_lucent():
    lo = _lucent_objectives()
    acts = {"x": _random_acts((7, 3, 4, 4), 5)}
    for decay in (2.0, 3.0):
        obj = fv.alignment("x", decay_ratio=decay)
        assert obj.batchwise
        mine = obj(acts).numpy()
        theirs = float(lo.alignment("x", decay_ratio=decay)(lambda name: acts[name]))
        np.testing.assert_allclose(mine.sum(), theirs, rtol=1e-5)
        # each image carries half of every term it is in
        x = acts["x"].numpy().astype(np.float64)
        ref = np.zeros(7)
        for d in range(1, 5):
            for i in range(7 - d):
                term = ((x[i] - x[i + d]) ** 2).mean() / decay**d / 2
                ref[i] += term
                ref[i + d] += term
        np.testing.assert_allclose(mine, ref, rtol=1e-5)
    np.testing.assert_allclose(fv.alignment("x")({"x": acts["x"][:1]}).numpy(), [0.0])


def test_alignment_makes_the_batch_one_forward_pass(tiny_cnn):
    obj = fv.channel_interpolate("conv2:0", "conv2:1") - 0.1 * fv.alignment("conv2")
    run = fv.ascent(tiny_cnn, obj, batch=3, chunk=1, steps=2, size=8)
    assert run.chunk == 3


def test_direction_neuron_and_neuron_against_lucent():
    lo = _lucent_objectives()
    t = _random_acts((2, 5, 6, 6), 7)
    acts = {"x": t}
    v = _random_acts((5,), 8)
    mine = fv.direction_neuron("x", v)(acts)
    theirs = lo.direction_neuron("x", v)(lambda name: acts[name])
    np.testing.assert_allclose(float(-mine.mean()), float(theirs), rtol=1e-5)
    at = t[:, :, 1, 4].numpy()  # x=4, y=1
    ref = at @ v.numpy() / (np.linalg.norm(at, axis=1) * np.linalg.norm(v.numpy()))
    np.testing.assert_allclose(fv.direction_neuron("x", v, x=4, y=1)(acts).numpy(), ref, rtol=1e-5)
    dot = fv.direction_neuron("x", v, x=4, y=1, cossim=False)(acts).numpy()
    np.testing.assert_allclose(dot, at @ v.numpy(), rtol=1e-5)
    # neuron: lucent's centre (lower right of the middle four) and a given position
    theirs = lo.neuron("x", 2)(lambda name: acts[name])
    np.testing.assert_allclose(float(-fv.neuron("x", 2)(acts).mean()), float(theirs), rtol=1e-6)
    np.testing.assert_allclose(fv.neuron("x", 2, x=4, y=1)(acts).numpy(), t[:, 2, 1, 4].numpy())


def test_new_objectives_validate_against_the_model(tiny_cnn):
    with pytest.raises(ObjectiveError, match="4 values"):
        fv.direction_neuron("conv2", [1.0, 0, 0, 0]).validate(tiny_cnn)
    with pytest.raises(ObjectiveError, match="outside"):
        fv.direction_neuron("conv2", [1.0] * 6, x=16).validate(tiny_cnn)
    with pytest.raises(cw.LayerNotFoundError):
        fv.alignment("conv9").validate(tiny_cnn)
    with pytest.raises(ObjectiveError, match="spatial"):
        fv.style("fc", _photo(16)).validate(tiny_cnn)
    with pytest.raises(ObjectiveError, match="2 weights for 1 layers"):
        fv.style("conv1", _photo(16), weights=[1, 2])


def test_registry_entries_declare_parameters_and_references():
    for name in (
        "activation_match",
        "content",
        "style",
        "accentuate",
        "channel_interpolate",
        "alignment",
        "direction_neuron",
    ):
        entry = fv.OBJECTIVES.get(name)
        assert entry.reference and entry.description and entry.params
        assert getattr(fv, name) is entry.fn
        assert "value" in entry.fn.__doc__ or "=" in entry.fn.__doc__  # a formula
    for name in ("cppn", "lowres"):
        entry = fv.PARAMETERIZATIONS.get(name)
        assert entry.reference and entry.params


# ---- parameterizations ------------------------------------------------------------------------
def test_lowres_is_bilinear_upsampling_of_few_pixels():
    p = fv.param.make_param("lowres", 2, (10, 14), factor=3, generator=torch.Generator())
    assert p.low.shape == (2, 3, 4, 5)
    low = p.low.detach().numpy().astype(np.float64)

    def up1(n_low, n):  # 1-D linear interpolation with half-pixel centres, by hand
        m = np.zeros((n, n_low))
        for i in range(n):
            src = min(max((i + 0.5) * n_low / n - 0.5, 0), n_low - 1)
            j = int(np.floor(src))
            f = src - j
            m[i, j] += 1 - f
            m[i, min(j + 1, n_low - 1)] += f
        return m

    raw = np.einsum("hi,ncij,wj->nchw", up1(4, 10), low, up1(5, 14))
    color = fv.param.color_correlation().numpy()
    ref = 1 / (1 + np.exp(-np.einsum("nchw,dc->ndhw", raw, color)))
    np.testing.assert_allclose(p().detach().numpy(), ref, atol=1e-6)
    with pytest.raises(ParameterError, match="factor"):
        fv.param.make_param("lowres", 1, 8, factor=0)


def test_cppn_is_a_network_over_coordinates():
    p = fv.param.make_param("cppn", 2, (6, 9), width=5, depth=3, generator=torch.Generator())
    with torch.no_grad():
        for t in p.parameters():  # the output layer starts at zero: give it values
            t.copy_(torch.randn(t.shape, generator=torch.Generator().manual_seed(t.numel())))
    r = 3**0.5
    ys, xs = np.meshgrid(np.linspace(-r, r, 6), np.linspace(-r, r, 9), indexing="ij")
    h = np.stack([xs, ys, np.hypot(xs, ys)], -1).reshape(-1, 3)
    out = []
    for k in range(2):
        a = h
        for i, (w, b) in enumerate(zip(p.weights, p.biases)):
            a = a @ w[k].detach().numpy().astype(np.float64) + b[k, 0].detach().numpy()
            if i < len(p.weights) - 1:
                a = np.concatenate([np.arctan(a) / 0.67, np.arctan(a) ** 2 / 0.6], -1)
        out.append(a.T.reshape(3, 6, 9))
    color = fv.param.color_correlation().numpy()
    ref = 1 / (1 + np.exp(-np.einsum("nchw,dc->ndhw", np.stack(out), color)))
    np.testing.assert_allclose(p().detach().numpy(), ref, atol=1e-5)
    assert [tuple(w.shape[1:]) for w in p.weights] == [(3, 5), (10, 5), (10, 5), (10, 3)]


def test_cppn_starts_grey_and_learns(tiny_cnn):
    start = fv.visualize(tiny_cnn, "conv2:1", steps=0, size=12, seed=0, param="cppn")
    np.testing.assert_allclose(np.asarray(start), 0.5)
    end = fv.visualize(tiny_cnn, "conv2:1", steps=30, size=12, seed=0, param="cppn")
    assert end.objective_values[0] > start.objective_values[0] + 0.05


@pytest.mark.parametrize("param", ["pixel", "fft", "maco", "lowres", "cppn"])
def test_image_k_does_not_depend_on_the_batch(tiny_cnn, param):
    """Each image draws its start and transforms from its own streams: image k of any batch
    is the same render, to the last bit when the model sees one image per pass (``chunk=1``)
    and the size is a multiple of 8 (torch's vectorised kernels round the few elements left
    at the end of a tensor in scalar code); to float rounding in chunks of several images."""
    settings = dict(steps=6, size=24, seed=11, param=param, chunk=1)
    objs = ["conv2:0", "conv1:2", "-conv2:4"]
    three = np.asarray(fv.visualize(tiny_cnn, objs, **settings))
    two = np.asarray(fv.visualize(tiny_cnn, objs[:2], **settings))
    one = np.asarray(fv.visualize(tiny_cnn, objs[0], **settings))
    np.testing.assert_array_equal(three[:2], two)
    np.testing.assert_array_equal(three[:1], one)
    assert not np.array_equal(three[0], three[1])
    chunked = np.asarray(fv.visualize(tiny_cnn, objs, **dict(settings, chunk=None)))
    np.testing.assert_allclose(chunked, three, atol=1e-5)
    odd = dict(settings, size=12, chunk=None)
    np.testing.assert_allclose(
        np.asarray(fv.visualize(tiny_cnn, objs, **odd))[:1],
        np.asarray(fv.visualize(tiny_cnn, objs[0], **odd)),
        atol=1e-5,
    )

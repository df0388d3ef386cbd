"""lucid's InceptionV1: lucent's state dict, lucent's numbers, lucid's layer names, its labels and
preprocessing, and clear errors when the weights cannot be had.

The reference is lucent's own module (``lucent.modelzoo.inceptionv1``) with random weights; the
published weight file cannot be downloaded here.
"""

from __future__ import annotations

import os
import shutil
import urllib.error

import numpy as np
import pytest
import torch
from torch import nn

import cnnwidgets as cw
from cnnwidgets.engines.featureviz.objectives import ObjectiveError, as_objective
from cnnwidgets.models import WeightsUnavailableError
from cnnwidgets.models.inceptionv1 import (
    WEIGHTS_URL,
    InceptionV1,
    InceptionV1WeightsError,
    cached_weights_path,
)
from cnnwidgets.models.labels import inception5h_labels

lucent_zoo = pytest.importorskip("lucent.modelzoo")
from lucent.modelzoo.inceptionv1 import helper_layers  # noqa: E402
from lucent.optvis.transform import preprocess_inceptionv1  # noqa: E402

BLOCKS = [
    "mixed3a",
    "mixed3b",
    "mixed4a",
    "mixed4b",
    "mixed4c",
    "mixed4d",
    "mixed4e",
    "mixed5a",
    "mixed5b",
]


@pytest.fixture(scope="module")
def lucent_net():
    """lucent's InceptionV1 (plain ReLUs; the forward pass is the same either way) with random
    weights. Lucent keeps PyTorch's default initialisation, under which activations shrink
    about tenfold per stage (logits near 0.05): He-normal weights keep every depth at a scale
    where a wrongly wired tower or pool shows."""
    torch.manual_seed(0)
    net = lucent_zoo.inceptionv1(pretrained=False, redirected_ReLU=False).eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                fan_in = mod.weight[0].numel()
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=gen) * (2 / fan_in) ** 0.5)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=gen) * 0.1)
    return net


@pytest.fixture(scope="module")
def weights_file(lucent_net, tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "inception5h.pth"
    torch.save(lucent_net.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def m(weights_file):
    return cw.load_model("inceptionv1", weights=weights_file, device="cpu")


def _lucent_relu_names(net) -> list[str]:
    return [n for n, mod in net.named_children() if isinstance(mod, helper_layers.ReluLayer)]


def _lucent_cat_names(net) -> list[str]:
    return [n for n, mod in net.named_children() if isinstance(mod, helper_layers.CatLayer)]


# Our layer -> lucent's module with the same output. Lucent has no module for a ReLU's input
# other than the convolution, and no concatenation of pre-ReLU towers (built below).
COMPARED = {
    "conv2d0_pre_relu": "conv2d0_pre_relu_conv",
    "conv2d0": "conv2d0",
    "maxpool0": "maxpool0",
    "conv2d2": "conv2d2",
    "maxpool1": "maxpool1",
    "mixed3a": "mixed3a",
    "mixed3b": "mixed3b",
    "maxpool4": "maxpool4",
    "mixed4a_pool": "mixed4a_pool",
    "mixed4a_3x3_bottleneck": "mixed4a_3x3_bottleneck",
    "mixed4a_3x3_pre_relu": "mixed4a_3x3_pre_relu_conv",
    "mixed4a_5x5": "mixed4a_5x5",
    "mixed4a": "mixed4a",
    "mixed4e": "mixed4e",
    "maxpool10": "maxpool10",
    "mixed5b": "mixed5b",
    "softmax2_pre_activation": "softmax2_pre_activation_matmul",
}
TOWER_CONVS = [f"mixed4a_{t}_pre_relu_conv" for t in ("1x1", "3x3", "5x5", "pool_reduce")]


@pytest.fixture(scope="module")
def both(m, lucent_net):
    """One forward pass of each network on the same two random 224-px images, with the
    outputs of the compared layers; ours as load_model builds it (channels-last on the CPU)."""
    pixels = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    ours, theirs = {}, {}

    def keep(store, name):
        return lambda _m, _i, out: store.__setitem__(name, out.detach().clone())

    handles = [
        m.module.get_submodule(n).register_forward_hook(keep(ours, n))
        for n in [*COMPARED, "mixed4a_pre_relu"]
    ]
    handles += [
        getattr(lucent_net, n).register_forward_hook(keep(theirs, n))
        for n in [*COMPARED.values(), *TOWER_CONVS]
    ]
    try:
        with torch.no_grad():
            ours["logits"] = m.logits(m.normalize(pixels))
            theirs["softmax2"] = lucent_net(preprocess_inceptionv1()(pixels))
    finally:
        for h in handles:
            h.remove()
    return pixels, ours, theirs


def _rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max() / b.float().abs().max())


# ---- state dict -------------------------------------------------------------------------------
def test_state_dict_has_lucents_keys_and_shapes(lucent_net):
    ours = {k: tuple(v.shape) for k, v in InceptionV1().state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in lucent_net.state_dict().items()}
    assert ours == theirs
    InceptionV1().load_state_dict(lucent_net.state_dict(), strict=True)


def test_weights_file_loads_and_matches(m, weights_file):
    saved = torch.load(weights_file, weights_only=True)
    mine = m.module.state_dict()
    assert mine.keys() == saved.keys()
    for k, v in saved.items():
        assert torch.equal(mine[k], v), k
    assert m.channels_last  # stored as the other zoo models on the CPU


# ---- forward pass against lucent's module ------------------------------------------------------
def test_logits_and_probabilities_match_lucent(both, m):
    _, ours, theirs = both
    assert ours["logits"].shape == (2, 1008)
    # Lucent's module returns softmax2; ours the logits before it.
    assert _rel_err(ours["logits"], theirs["softmax2_pre_activation_matmul"]) < 1e-5
    assert torch.allclose(ours["logits"].softmax(1), theirs["softmax2"], atol=1e-6)
    assert torch.equal(ours["logits"], ours["softmax2_pre_activation"])
    top = m.predict(m.normalize(both[0][:1]), k=3)
    assert [i for i, _, _ in top] == theirs["softmax2"][0].topk(3).indices.tolist()


@pytest.mark.parametrize("ours_name", list(COMPARED))
def test_intermediate_layers_match_lucent(both, ours_name):
    _, ours, theirs = both
    a, b = ours[ours_name], theirs[COMPARED[ours_name]]
    assert a.shape == b.shape
    assert float(b.abs().max()) > 0.1  # a layer that carries signal, not zeros
    assert _rel_err(a, b) < 1e-5


def test_block_pre_relu_is_the_concatenated_pre_relu_towers(both):
    _, ours, theirs = both
    expected = torch.cat([theirs[n] for n in TOWER_CONVS], 1)
    assert _rel_err(ours["mixed4a_pre_relu"], expected) < 1e-5
    assert ours["mixed4a_pre_relu"].min() < 0 and ours["mixed4a"].min() == 0
    assert torch.allclose(ours["mixed4a"], ours["mixed4a_pre_relu"].clamp(min=0), atol=1e-6)


def test_feature_maps_and_objective_strings_take_lucid_names(both, m):
    pixels, _, theirs = both
    maps = cw.feature_maps(m, m.normalize(pixels[:1]), "mixed4a", cache=False)
    assert maps.shape == (508, 14, 14)
    assert np.abs(maps - theirs["mixed4a"][0].numpy()).max() < 1e-5 * np.abs(maps).max()
    obj = as_objective("mixed4a:476").validate(m)
    value = obj({"mixed4a": torch.from_numpy(maps)[None]})
    assert float(value[0]) == pytest.approx(float(theirs["mixed4a"][0, 476].mean()), rel=1e-5)
    with pytest.raises(ObjectiveError):
        as_objective("mixed4a:508").validate(m)


# ---- names and shapes ---------------------------------------------------------------------
def test_every_lucent_module_name_and_lucid_name_is_a_layer(m, lucent_net):
    layers = set(m.layers)
    lucent_names = {n for n, _ in lucent_net.named_children()} - {"softmax2"}  # we stop at logits
    assert lucent_names <= layers
    assert {f"{n}_pre_relu" for n in _lucent_relu_names(lucent_net)} <= layers
    assert {f"{n}_pre_relu" for n in BLOCKS} <= layers
    assert {
        "localresponsenorm0",
        "localresponsenorm1",
        "avgpool0",
        "softmax2_pre_activation",
    } <= layers


def test_layer_shapes_are_lucids(m):
    # Depths from lucid's InceptionV1.layers; a 224 input halves the map at conv2d0, maxpool0,
    # maxpool1, maxpool4 and maxpool10.
    depth = {
        "conv2d0": 64,
        "conv2d1": 64,
        "conv2d2": 192,
        "mixed3a": 256,
        "mixed3b": 480,
        "mixed4a": 508,
        "mixed4b": 512,
        "mixed4c": 512,
        "mixed4d": 528,
        "mixed4e": 832,
        "mixed5a": 832,
        "mixed5b": 1024,
    }
    side = {
        "conv2d0": 112,
        "conv2d1": 56,
        "conv2d2": 56,
        "mixed3a": 28,
        "mixed3b": 28,
        "mixed5a": 7,
        "mixed5b": 7,
    }
    for name, d in depth.items():
        s = side.get(name, 14)
        assert m.layer_info[name].shape == (d, s, s), name
        assert m.layer_info[f"{name}_pre_relu"].shape == (d, s, s), name
    assert m.layer_info["mixed4a_3x3"].shape == (204, 14, 14)
    assert m.layer_info["mixed4a_pool"].shape == (480, 14, 14)
    assert m.layer_info["softmax2_pre_activation"].shape == (1008,)


def test_pre_activation_layers_are_the_pre_relu_names(m, lucent_net):
    relus = _lucent_relu_names(lucent_net)
    expected = {f"{n}_pre_relu" for n in relus + _lucent_cat_names(lucent_net)}
    found = cw.pre_activation_layers(m)
    assert set(found) == expected and len(found) == 57 + 9
    assert found == [n for n in m.layers if n in expected]  # in m.layers order
    # Each call probes the network once: a stem ReLU, a bottleneck, a tower and a block.
    for name in ("conv2d0", "mixed4a_3x3_bottleneck", "mixed4a_pool_reduce", "mixed4a"):
        assert cw.pre_activation_layer(m, name) == f"{name}_pre_relu"


# ---- preprocessing and labels ------------------------------------------------------------------
def test_preprocessing_is_lucids(m):
    pixels = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(m.normalize(pixels), preprocess_inceptionv1()(pixels), atol=1e-4)
    x = m.preprocess(cw.load_image("coffee"))
    assert x.shape == (1, 3, 224, 224)
    assert -117 <= float(x.min()) and float(x.max()) <= 138 + 1e-3


def test_labels_are_the_1008_inception5h_outputs(m):
    labels = inception5h_labels()
    assert len(labels) == 1008 and m.labels == labels
    assert labels[:3] == ["dummy", "kit fox", "English setter"] and labels[1000] == "dumbbell"
    assert labels[1001:] == [f"unused {i}" for i in range(1001, 1008)]
    # The 1,000 classes are ImageNet's, as torchvision spells them but for two WordNet
    # variants: a typo or a shifted line would show here.
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    assert {n for n in labels[1:1001] if n not in _IMAGENET_CATEGORIES} == {
        "cannon [ground]",
        "teddy bear",
    }
    assert len(set(labels[1:1001])) == 998  # "crane" and "maillot" twice, as in ImageNet


def test_aliases_mark_redirect_and_check_the_class_count():
    for name in ("inceptionv1", "inception_v1", "inception5h"):
        m = cw.load_model(name, pretrained=False, device="cpu")
        assert m.name == "inceptionv1" and m.redirect_relu is True
    with pytest.raises(ValueError, match="1008"):
        cw.load_model("inceptionv1", pretrained=False, num_classes=10)


# ---- weights: download, cache, errors --------------------------------------------------------
@pytest.fixture()
def offline(monkeypatch, tmp_path):
    """torch hub's cache in an empty temporary directory, and no network: every download
    raises what urllib raises offline. Returns the list of URLs asked for."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    asked = []

    def no_network(url, dst, *args, **kwargs):
        asked.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return asked


def test_pretrained_false_builds_offline(offline):
    m = cw.load_model("inceptionv1", pretrained=False, device="cpu")
    assert offline == [] and not os.path.exists(cached_weights_path())
    assert m.num_classes == 1008


def test_offline_download_names_the_url_and_the_path(offline, tmp_path):
    with pytest.raises(InceptionV1WeightsError) as err:
        cw.load_model("inceptionv1", device="cpu")
    path = str(tmp_path / "torch" / "hub" / "checkpoints" / "inception5h.pth")
    assert err.value.path == path and offline == [WEIGHTS_URL]
    msg = str(err.value)
    assert WEIGHTS_URL in msg and path in msg and "network error" in msg and "URLError" in msg
    assert isinstance(err.value, WeightsUnavailableError)
    assert not os.path.exists(path)


def test_cached_weights_are_used_without_the_network(offline, weights_file):
    os.makedirs(os.path.dirname(cached_weights_path()))
    shutil.copy(weights_file, cached_weights_path())
    m = cw.load_model("inceptionv1", device="cpu")
    assert offline == []
    saved = torch.load(weights_file, weights_only=True)
    assert torch.equal(
        m.module.mixed4a_3x3_pre_relu_conv.weight, saved["mixed4a_3x3_pre_relu_conv.weight"]
    )


def _expect_error(path, *fragments):
    with pytest.raises(InceptionV1WeightsError) as err:
        cw.load_model("inceptionv1", weights=path, device="cpu")
    msg = str(err.value)
    for text in (WEIGHTS_URL, str(path), cached_weights_path(), *fragments):
        assert text in msg, (text, msg)
    return msg


def test_truncated_file(weights_file, tmp_path):
    data = weights_file.read_bytes()
    bad = tmp_path / "truncated.pth"
    bad.write_bytes(data[: len(data) // 2])
    _expect_error(bad, "not a readable PyTorch weights file")


def test_truncated_cached_file_says_to_delete_it(offline, weights_file):
    os.makedirs(os.path.dirname(cached_weights_path()))
    data = weights_file.read_bytes()
    with open(cached_weights_path(), "wb") as f:
        f.write(data[:1000])
    with pytest.raises(InceptionV1WeightsError, match="delete it to download it again"):
        cw.load_model("inceptionv1", device="cpu")
    assert offline == []


def test_file_with_wrong_keys(weights_file, tmp_path):
    state = torch.load(weights_file, weights_only=True)
    state["mixed4a_3x3.weight"] = state.pop("mixed4a_3x3_pre_relu_conv.weight")
    bad = tmp_path / "renamed.pth"
    torch.save(state, bad)
    _expect_error(
        bad,
        "1 missing keys (mixed4a_3x3_pre_relu_conv.weight)",
        "1 unexpected keys (mixed4a_3x3.weight)",
    )


def test_file_with_wrong_shapes(weights_file, tmp_path):
    state = torch.load(weights_file, weights_only=True)
    state["softmax2_pre_activation_matmul.weight"] = torch.zeros(1000, 1024)
    bad = tmp_path / "shapes.pth"
    torch.save(state, bad)
    _expect_error(
        bad,
        "1 shape mismatches (softmax2_pre_activation_matmul.weight is "
        "(1000, 1024) instead of (1008, 1024))",
    )


def test_file_that_is_not_a_state_dict(tmp_path):
    bad = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], bad)
    _expect_error(bad, "holds a list, not a state dict")


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nowhere.pth", "there is no file at")


def test_random_weights_and_a_file_exclude_each_other(weights_file):
    with pytest.raises(ValueError, match="pass one of them"):
        cw.load_model("inceptionv1", pretrained=False, weights=weights_file)

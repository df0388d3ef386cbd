"""load_model and the Model wrapper: pretrained classes, preprocessing, layers, outputs, errors."""

import numpy as np
import pytest
import torch
from torch import nn

import cnnwidgets as cw
from cnnwidgets.models.efficientnet_lite import Conv2dSame

from .conftest import assert_left_as_found, model_snapshot


def test_cat_is_a_cat(lite0, cat):
    top = lite0.predict(cat, k=3)
    assert {i for i, _, _ in top} == {281, 282, 285}  # tabby, tiger cat, Egyptian cat
    assert top[0][1] in ("tiger cat", "Egyptian cat")


def test_coffee_is_espresso(lite0, coffee):
    index, label, prob = lite0.predict(coffee, k=1)[0]
    assert (index, label) == (967, "espresso")
    assert prob > 0.9


def test_predict_on_a_batch_gives_one_row_per_image(lite0, cat, coffee):
    rows = lite0.predict([cat, coffee], k=2)
    assert [r[0][0] for r in rows] in ([282, 967], [285, 967])
    probs = [p for _, _, p in lite0.predict(cat, k=1000)]
    assert sum(probs) == pytest.approx(1.0, abs=1e-4)


def test_lite0_preprocessing_is_the_tensorflow_one(lite0, coffee):
    x = lite0.preprocess(coffee)
    assert x.shape == (1, 3, 224, 224)
    # (x*255 - 127) / 128 maps pixel 0 to -127/128 and pixel 255 to 1.
    assert x.min() >= -127 / 128 - 1e-6 and x.max() <= 1 + 1e-6
    img01 = lite0.denormalize(x)
    assert torch.allclose(lite0.normalize(img01), x, atol=1e-6)


def test_preprocess_resizes_shorter_side_then_centre_crops(lite0):
    # A wide image with a red left third and blue right third: the centre crop keeps neither edge.
    arr = np.zeros((300, 900, 3), np.uint8)
    arr[:, :300, 0] = 255
    arr[:, 600:, 2] = 255
    shown = lite0.to_display(arr)
    assert shown.shape == (224, 224, 3)
    assert shown[:, :, 0].max() < 0.05 and shown[:, :, 2].max() < 0.05


def test_same_padding_matches_tensorflow_rule():
    # TF "SAME" with stride 2 on an even input pads 0 on top/left and 1 on bottom/right.
    conv = Conv2dSame(1, 1, 3, stride=2)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    x = torch.arange(16.0).view(1, 1, 4, 4)
    out = conv(x)
    ref = nn.functional.conv2d(nn.functional.pad(x, [0, 1, 0, 1]), conv.weight, stride=2)
    assert out.shape == (1, 1, 2, 2)
    assert torch.equal(out, ref)


def _same_conv_by_explicit_padding(conv: Conv2dSame, x: torch.Tensor) -> torch.Tensor:
    """The padding path Conv2dSame used for every input: TF's "SAME" pads with F.pad, then
    an unpadded convolution."""
    ih, iw = x.shape[-2:]
    (kh, kw), (sh, sw) = conv.kernel_size, conv.stride
    pad_h = max((-(-ih // sh) - 1) * sh + kh - ih, 0)
    pad_w = max((-(-iw // sw) - 1) * sw + kw - iw, 0)
    x = nn.functional.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
    return nn.functional.conv2d(
        x, conv.weight, conv.bias, conv.stride, 0, conv.dilation, conv.groups
    )


@pytest.mark.parametrize(
    "kernel, stride, groups, size, copies_x",
    [
        (3, 1, 8, (14, 14), False),  # Lite0's stride-1 depthwise convolutions: symmetric
        (5, 1, 8, (13, 15), False),
        (3, 1, 1, (10, 10), False),  # dense
        (3, 2, 8, (15, 15), False),  # stride 2 on an odd size pads 1 and 1
        (3, 2, 8, (14, 14), "weight grad"),  # even size pads 0 and 1: zero-led kernel
        (5, 2, 8, (14, 15), "weight grad"),  # 1 and 2
        (5, 2, 8, (15, 14), "weight grad"),  # symmetric one way, not the other
        (3, 2, 1, (14, 14), True),  # dense (the stem): F.pad
    ],
)
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("weight_grad", [False, True])
def test_same_padding_without_a_padded_copy_gives_the_explicit_paddings_values(
    kernel, stride, groups, size, copies_x, channels_last, weight_grad
):
    from torch.overrides import TorchFunctionMode

    padded = []

    class RecordPads(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func is nn.functional.pad:
                padded.append(tuple(args[0].shape))
            return func(*args, **(kwargs or {}))

    torch.manual_seed(0)
    conv = Conv2dSame(8, 8, kernel, stride=stride, groups=groups, bias=True)
    conv.requires_grad_(weight_grad)
    x = torch.randn(2, 8, *size)
    if channels_last:
        conv.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    outs, grads, weight_grads = [], [], []
    for fn in (conv, lambda x: _same_conv_by_explicit_padding(conv, x)):
        xi = x.clone().requires_grad_(True)
        conv.weight.grad = None
        with RecordPads():
            out = fn(xi)
        out.backward(torch.linspace(-1, 1, out.numel()).view(out.shape))
        outs.append(out.detach())
        grads.append(xi.grad)
        weight_grads.append(conv.weight.grad)  # training goes through the same forward
    # Conv2dSame copies x into a padded tensor only where asked; the old path always did.
    copies = copies_x is True or (copies_x == "weight grad" and weight_grad)
    assert padded.count(tuple(x.shape)) == (2 if copies else 1)
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-6, atol=1e-6)
    if weight_grad:
        torch.testing.assert_close(weight_grads[0], weight_grads[1], rtol=1e-5, atol=1e-5)


def test_layers_shapes_and_default_cam_layer(lite0):
    info = lite0.layer_info
    assert lite0.layers[0] == "_conv_stem"
    assert info["_conv_stem"].shape == (32, 112, 112)
    assert info["_act_head"].shape == (1280, 7, 7)
    assert info["_fc"].shape == (1000,)
    assert lite0.default_cam_layer == "_act_head"
    assert "_blocks.15._project_conv" in lite0.conv_layers
    assert "_dropout" not in lite0.layers


def test_wrong_layer_name_lists_valid_ones_closest_first(lite0):
    with pytest.raises(cw.LayerNotFoundError) as err:
        lite0.module_of("_blocks.15._project_cnv")
    msg = str(err.value)
    assert "Closest: _blocks.15._project_conv" in msg
    assert "_conv_stem" in msg and "All 150 layers" in msg


def test_simple_cnn_has_three_conv_blocks_and_a_classifier():
    m = cw.load_model("simple_cnn", num_classes=10, device="cpu")
    assert {"conv1", "conv2", "conv3", "classifier"} <= set(m.layers)
    assert m.default_cam_layer == "conv3"
    assert m.labels[0] == "tench" and len(m.labels) == 10
    assert m.logits(m.example_input(2)).shape == (2, 10)
    gray = cw.load_model("simple_cnn", num_classes=10, in_channels=1, input_size=32, device="cpu")
    assert gray.preprocess(cw.load_image("cat")).shape == (1, 1, 32, 32)


def test_torchvision_classifier_with_random_weights():
    m = cw.load_model("resnet18", pretrained=False, device="cpu")
    assert m.default_cam_layer == "layer4"
    assert m.labels[282] == "tiger cat"
    assert m.num_classes == 1000


def test_offline_torchvision_weights_give_a_clear_error(tmp_path, monkeypatch):
    import urllib.error

    old_hub = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    monkeypatch.setattr("torchvision.models._api.load_state_dict_from_url", offline, raising=False)
    try:
        with pytest.raises(cw.models.WeightsUnavailableError) as err:
            cw.load_model("resnet18", device="cpu")
    finally:
        torch.hub.set_dir(old_hub)
    msg = str(err.value)
    assert "pretrained=False" in msg and "resnet18-f37072fd.pth" in msg


def test_unknown_model_name_lists_choices():
    with pytest.raises(ValueError, match="resnet18"):
        cw.load_model("resnet19")


class TupleNet(nn.Module):
    def __init__(self, as_dict=False):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)
        self.as_dict = as_dict

    def forward(self, x):
        feats = self.conv(x).relu()
        logits = self.fc(feats.mean((2, 3)))
        return {"features": feats, "logits": logits} if self.as_dict else (logits, feats)


@pytest.mark.parametrize("as_dict", [False, True])
def test_user_models_with_tuple_or_dict_outputs(as_dict):
    m = cw.load_model(TupleNet(as_dict), labels=["a", "b", "c"], input_size=32, device="cpu")
    assert m.num_classes == 3
    assert m.predict(cw.load_image("cat"), k=1)[0][1] in "abc"
    chosen = cw.load_model(
        TupleNet(as_dict),
        output=(lambda out: out["logits"] if as_dict else out[0]),
        input_size=32,
        device="cpu",
    )
    assert chosen.logits(chosen.example_input()).shape == (1, 3)


def test_wrapping_a_module_keeps_user_settings():
    m = cw.load_model(
        TupleNet(), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), input_size=48, device="cpu"
    )
    x = m.preprocess(np.full((60, 60, 3), 255, np.uint8))
    assert x.shape == (1, 3, 48, 48)
    assert torch.allclose(x, torch.full_like(x, 2.0))
    with pytest.raises(ValueError, match="one per input channel"):
        cw.load_model(TupleNet(), mean=(0.5,), std=(0.5,), device="cpu")


def test_predict_and_probe_leave_the_model_as_found(cat):
    m = cw.load_model("simple_cnn", device="cpu")
    m.module.train()
    m.module.conv1.bn.eval()  # a user's frozen BatchNorm inside a training model
    m.module.conv2.conv.weight.requires_grad_(False)
    before = model_snapshot(m)
    m.predict(cat)
    _ = m.layers
    assert_left_as_found(before, m)
    assert m.module.training and not m.module.conv1.bn.training


def test_double_precision_models_get_double_inputs(cat):
    m = cw.load_model(TupleNet().double(), input_size=32, device="cpu")
    assert m.preprocess(cat).dtype == torch.float64
    assert m.layer_info["conv"].shape == (4, 32, 32)
    assert len(m.predict(cat, k=2)) == 2


def test_zoo_models_are_channels_last_on_the_cpu_and_user_modules_keep_their_layout(cat):
    import torchvision

    zoo = cw.load_model("resnet18", pretrained=False, device="cpu")
    assert zoo.channels_last
    assert zoo.module.layer1[0].conv1.weight.is_contiguous(memory_format=torch.channels_last)
    user = cw.load_model(torchvision.models.resnet18().eval(), device="cpu")
    assert not user.channels_last and user.module.conv1.weight.is_contiguous()
    assert cw.load_model(
        torchvision.models.resnet18(), channels_last=True, device="cpu"
    ).channels_last

    # Only the layout changes: the same weights give the same logits and gradients either way.
    user.module.load_state_dict(zoo.module.state_dict())
    x = zoo.preprocess(cat)
    with torch.no_grad():
        assert torch.allclose(zoo.logits(x), user.logits(x), atol=1e-4)
    a = cw.saliency(zoo, cat, target=3)
    b = cw.saliency(user, cat, target=3)
    np.testing.assert_allclose(a.raw, b.raw, rtol=1e-3, atol=1e-6)
    user.set_channels_last(True)
    assert user.channels_last
    user.set_channels_last(False)
    assert not user.channels_last


def test_engines_feed_inputs_in_the_weights_layout():
    from cnnwidgets.core.inputs import input_layout

    m = cw.load_model("simple_cnn", device="cpu")
    x = m.example_input(2)
    assert input_layout(x, m).is_contiguous(memory_format=torch.channels_last)
    m.set_channels_last(False)
    assert input_layout(x.contiguous(memory_format=torch.channels_last), m).is_contiguous()


def test_counting_classes_leaves_a_training_model_as_found():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.BatchNorm2d(4),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 5),
    ).train()
    m = cw.load_model(net, input_size=16, device="cpu")
    before = model_snapshot(m)
    stats = net[1].running_mean.clone()
    assert len(m.labels) == 5  # num_classes runs a forward pass on an example input
    assert_left_as_found(before, m)
    assert net.training and torch.equal(net[1].running_mean, stats)

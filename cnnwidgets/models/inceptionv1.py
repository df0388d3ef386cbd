"""Lucid's InceptionV1 ("inception5h"): the network of the Circuits thread and OpenAI Microscope.

Parameters carry lucent's names (``conv2d0_pre_relu_conv.weight``, ...,
``softmax2_pre_activation_matmul.bias``), so that the weight file lucent loads (ProGamerGov's
conversion of lucid's graph, :data:`WEIGHTS_URL`) loads unchanged with ``strict=True``. Every
tensor that lucid names is the output of a module with that name, so each one answers wherever
a layer is taken (``m.layers``, ``cw.feature_maps(m, img, "mixed4a")``, ``"mixed4a:476"``):

- stem: ``conv2d0``, ``maxpool0``, ``localresponsenorm0``, ``conv2d1``, ``conv2d2``,
  ``localresponsenorm1``, ``maxpool1``; between blocks ``maxpool4`` and ``maxpool10``;
- blocks ``mixed3a`` ... ``mixed5b``: the four towers concatenated after their ReLUs;
- towers, e.g. ``mixed4a_1x1``, ``mixed4a_3x3_bottleneck``, ``mixed4a_3x3``,
  ``mixed4a_5x5_bottleneck``, ``mixed4a_5x5``, ``mixed4a_pool``, ``mixed4a_pool_reduce``;
- every ReLU's input as ``<name>_pre_relu`` (``conv2d0_pre_relu``, ``mixed4a_3x3_pre_relu``),
  and ``mixed4a_pre_relu``, the block's pre-ReLU towers concatenated (lucid adds these in
  ``_populate_inception_bottlenecks``): the signed maps for negative dataset examples;
- the convolutions under lucent's names (``mixed4a_3x3_pre_relu_conv``, same values as
  ``mixed4a_3x3_pre_relu``), ``avgpool0``, ``softmax2_pre_activation_matmul`` and
  ``softmax2_pre_activation`` (the logits).

``forward`` returns the logits, where lucent's module returns ``softmax2`` (probabilities):
every engine here scores logits, and :meth:`Model.predict` applies the softmax itself.

Input: RGB scaled to [0, 255] minus 117 (lucid's ``image_value_range = (-117, 138)``), 224 px.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .zoo import WeightsUnavailableError

# lucent.modelzoo.inceptionv1 model_urls["inceptionv1"]; torch.hub caches it under this name.
WEIGHTS_URL = (
    "https://github.com/ProGamerGov/pytorch-old-tensorflow-models/raw/master/inception5h.pth"
)
NUM_OUTPUTS = 1008

# x * 255 - 117 for x in [0, 1], written as the Model wrapper's (x - mean) / std.
INCEPTION5H_MEAN = (117 / 255,) * 3
INCEPTION5H_STD = (1 / 255,) * 3

# Local response normalisation as lucent runs it (PyTorch's LRN divides alpha by the size).
LRN = dict(size=9, alpha=9.99999974738e-05, beta=0.5, k=1.0)

# (in, 1x1, 3x3 bottleneck, 3x3, 5x5 bottleneck, 5x5, pool reduce) channels of each block.
BLOCKS = {
    "mixed3a": (192, 64, 96, 128, 16, 32, 32),
    "mixed3b": (256, 128, 128, 192, 32, 96, 64),
    "mixed4a": (480, 192, 96, 204, 16, 48, 64),
    "mixed4b": (508, 160, 112, 224, 24, 64, 64),
    "mixed4c": (512, 128, 128, 256, 24, 64, 64),
    "mixed4d": (512, 112, 144, 288, 32, 64, 64),
    "mixed4e": (528, 256, 160, 320, 32, 128, 128),
    "mixed5a": (832, 256, 160, 320, 48, 128, 128),
    "mixed5b": (832, 384, 192, 384, 48, 128, 128),
}
TOWERS = ("1x1", "3x3", "5x5", "pool_reduce")


# ---- small modules ---------------------------------------------------------------------------
def _same_padding(x: torch.Tensor, kernel: int, stride: int, value: float = 0.0) -> torch.Tensor:
    """TensorFlow's "SAME" padding for the input at hand: the odd pixel goes bottom/right.

    Lucent hard-codes the pads of a 224-px input ((2, 3) before conv2d0, (0, 1) before the
    stride-2 pools); computing them gives the same there and lucid's graph at other sizes.
    """
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value) if any(pads) else x


class SameConv2d(nn.Conv2d):
    """A strided convolution with "SAME" padding (only ``conv2d0`` needs it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(_same_padding(x, self.kernel_size[0], self.stride[0]))


class SameMaxPool2d(nn.MaxPool2d):
    """3x3 stride-2 max pooling with "SAME" padding; padded pixels never win (-inf)."""

    def __init__(self):
        super().__init__(kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(_same_padding(x, 3, 2, value=float("-inf")))


class Alias(nn.Module):
    """Gives a name to a tensor another module computed (``conv2d0_pre_relu``).

    It returns a view, not its input itself: hooks, and ``pre_activation_layers`` (which tracks
    tensors by identity), must tell it apart from the convolution that produced the values.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)


class Concat(nn.Module):
    """Tensors concatenated along channels (a block's pre-ReLU towers)."""

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return torch.cat(tensors, 1)


class TowerReLU(nn.ReLU):
    """A block's output: the ReLU of its concatenated pre-ReLU towers, taken tower by tower.

    Lucid's graph has one Relu per tower, and redirected ReLU decides per Relu (and image)
    whether to redirect, so each tower keeps its own ReLU (``mixed4a_3x3``), applied to its
    slice through the tower's alias (``mixed4a_3x3_pre_relu``). Being a ReLU that reads
    ``mixed4a_pre_relu``, it also tells ``pre_activation_layer`` where the signed map is.

    The tower modules belong to the network (lucid's flat names); this one only calls them.
    """

    def __init__(self, towers: Sequence[tuple[nn.Module, nn.Module]], sizes: Sequence[int]):
        super().__init__()
        self._towers = tuple(towers)  # a tuple: registered here, they would be named twice
        self._sizes = list(sizes)

    def forward(self, pre_relu: torch.Tensor) -> torch.Tensor:
        slices = pre_relu.split(self._sizes, dim=1)
        towers = zip(self._towers, slices, strict=True)
        return torch.cat([relu(alias(s)) for (alias, relu), s in towers], 1)


class InceptionBlock:
    """The modules of one Inception block (``parts``, keyed by lucid's suffixes) and their wiring.

    Not a child module of the network: lucent's state-dict keys and lucid's layer names are
    flat (``mixed4a_3x3_pre_relu_conv.weight``, ``mixed4a_3x3``), and a child would prefix them
    (``mixed4a.``). The network registers each part as ``<block>_<suffix>`` (the block output,
    suffix "", as ``<block>``); calling the block runs them.
    """

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int):
        parts: dict[str, nn.Module] = {}

        def conv(suffix: str, cin_: int, cout: int, k: int) -> None:
            parts[f"{suffix}_pre_relu_conv"] = nn.Conv2d(cin_, cout, k, padding=k // 2)

        def bottleneck(suffix: str, cout: int) -> None:
            conv(suffix, cin, cout, 1)
            parts[f"{suffix}_pre_relu"] = Alias()
            parts[suffix] = nn.ReLU()

        conv("1x1", cin, c1, 1)
        bottleneck("3x3_bottleneck", c3r)
        conv("3x3", c3r, c3, 3)
        bottleneck("5x5_bottleneck", c5r)
        conv("5x5", c5r, c5, 5)
        parts["pool"] = nn.MaxPool2d(3, stride=1, padding=1)  # pads with -inf, as lucid's pool
        conv("pool_reduce", cin, cp, 1)
        parts["pre_relu"] = Concat()
        towers = []
        for t in TOWERS:
            parts[f"{t}_pre_relu"], parts[t] = Alias(), nn.ReLU()
            towers.append((parts[f"{t}_pre_relu"], parts[t]))
        parts[""] = TowerReLU(towers, (c1, c3, c5, cp))
        self.parts = parts
        self.out_channels = c1 + c3 + c5 + cp

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        p = self.parts

        def relu(suffix: str, t: torch.Tensor) -> torch.Tensor:
            return p[suffix](p[f"{suffix}_pre_relu"](p[f"{suffix}_pre_relu_conv"](t)))

        t1 = p["1x1_pre_relu_conv"](x)
        t3 = p["3x3_pre_relu_conv"](relu("3x3_bottleneck", x))
        t5 = p["5x5_pre_relu_conv"](relu("5x5_bottleneck", x))
        tp = p["pool_reduce_pre_relu_conv"](p["pool"](x))
        return p[""](p["pre_relu"](t1, t3, t5, tp))


# ---- the network -----------------------------------------------------------------------------
class InceptionV1(nn.Module):
    """InceptionV1 as lucid runs it; see the module docstring for the names. Random weights
    (PyTorch's default initialisation, as lucent's module); load them with :func:`inceptionv1`."""

    def __init__(self):
        super().__init__()
        self._conv_relu("conv2d0", SameConv2d(3, 64, 7, stride=2))
        self.maxpool0 = SameMaxPool2d()
        self.localresponsenorm0 = nn.LocalResponseNorm(**LRN)
        self._conv_relu("conv2d1", nn.Conv2d(64, 64, 1))
        self._conv_relu("conv2d2", nn.Conv2d(64, 192, 3, padding=1))
        self.localresponsenorm1 = nn.LocalResponseNorm(**LRN)
        self.maxpool1 = SameMaxPool2d()
        self._blocks: dict[str, InceptionBlock] = {}
        for name, channels in BLOCKS.items():
            if name == "mixed4a":
                self.maxpool4 = SameMaxPool2d()
            if name == "mixed5a":
                self.maxpool10 = SameMaxPool2d()
            block = self._blocks[name] = InceptionBlock(*channels)
            for suffix, module in block.parts.items():
                self.add_module(f"{name}_{suffix}" if suffix else name, module)
        self.avgpool0 = nn.AdaptiveAvgPool2d(1)
        self.softmax2_pre_activation_matmul = nn.Linear(1024, NUM_OUTPUTS)
        self.softmax2_pre_activation = Alias()

    def _conv_relu(self, name: str, conv: nn.Module) -> None:
        self.add_module(f"{name}_pre_relu_conv", conv)
        self.add_module(f"{name}_pre_relu", Alias())
        self.add_module(name, nn.ReLU())

    def _run_conv_relu(self, name: str, x: torch.Tensor) -> torch.Tensor:
        conv, alias, relu = (
            getattr(self, f"{name}{suffix}") for suffix in ("_pre_relu_conv", "_pre_relu", "")
        )
        return relu(alias(conv(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.localresponsenorm0(self.maxpool0(self._run_conv_relu("conv2d0", x)))
        x = self._run_conv_relu("conv2d2", self._run_conv_relu("conv2d1", x))
        x = self.maxpool1(self.localresponsenorm1(x))
        for name, block in self._blocks.items():
            if name == "mixed4a":
                x = self.maxpool4(x)
            if name == "mixed5a":
                x = self.maxpool10(x)
            x = block(x)
        # Lucid pools mixed5b's 7x7 map with a 7x7 window; a global mean is the same at 224 px
        # and still gives one vector per image at other sizes (a 7x7 window would not).
        x = torch.flatten(self.avgpool0(x), 1)
        return self.softmax2_pre_activation(self.softmax2_pre_activation_matmul(x))


# ---- weights ---------------------------------------------------------------------------------
def cached_weights_path() -> str:
    """Where the downloaded weights live: torch hub's checkpoint directory (as lucent caches
    them, so either library finds a file the other downloaded)."""
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(WEIGHTS_URL))


class InceptionV1WeightsError(WeightsUnavailableError):
    """InceptionV1's weights could not be downloaded or read. ``problem`` says what went wrong,
    ``path`` is the file concerned, ``url`` where the weights come from."""

    def __init__(self, problem: str, path: str):
        self.problem, self.path, self.url = problem, path, WEIGHTS_URL
        cache = cached_weights_path()
        where = (
            f"download it to {cache} (where cw.load_model('inceptionv1') looks for it)"
            if os.path.abspath(path) == os.path.abspath(cache)
            else f"download it and pass its path as weights=, or put it at {cache} (where "
            "cw.load_model('inceptionv1') looks for it)"
        )
        super().__init__(
            f"cannot load InceptionV1's weights: {problem}. The weights are lucent's file "
            f"{WEIGHTS_URL}; {where}. cw.load_model('inceptionv1', pretrained=False) builds the "
            "model with random weights."
        )


def _brief(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _download(progress: bool) -> str:
    """The cached weight file, downloaded first if it is not there yet.

    What ``torch.hub.load_state_dict_from_url`` does, in two steps so that the error says
    whether the network or the file failed. No hash is checked: none is published.
    """
    path = cached_weights_path()
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            # download_url_to_file writes to a temporary file and renames it when complete,
            # so a failed download leaves nothing at ``path``.
            torch.hub.download_url_to_file(WEIGHTS_URL, path, hash_prefix=None, progress=progress)
        except Exception as exc:  # URLError, HTTPError, SSL and socket errors, disk full, ...
            raise InceptionV1WeightsError(
                f"the download failed (network error, {_brief(exc)})", path
            ) from exc
    return path


def _mismatches(expected: Mapping[str, torch.Tensor], found: Mapping) -> str:
    """A readable list of missing and unexpected keys and shape mismatches ('' if none)."""

    def some(names: list[str]) -> str:
        return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")

    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [
        f"{k} is {tuple(found[k].shape)} instead of {tuple(v.shape)}"
        for k, v in expected.items()
        if k in found and isinstance(found[k], torch.Tensor) and found[k].shape != v.shape
    ]
    not_tensors = [k for k in expected if k in found and not isinstance(found[k], torch.Tensor)]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing keys ({some(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected keys ({some(unexpected)})")
    if shapes:
        parts.append(f"{len(shapes)} shape mismatches ({some(shapes)})")
    if not_tensors:
        parts.append(f"{len(not_tensors)} entries that are not tensors ({some(not_tensors)})")
    return "; ".join(parts)


def load_weights(model: InceptionV1, path: str | os.PathLike) -> InceptionV1:
    """Load a state-dict file into ``model`` (strictly: every key, every shape)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InceptionV1WeightsError(f"there is no file at {path}", path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        hint = " (delete it to download it again)" if path == cached_weights_path() else ""
        raise InceptionV1WeightsError(
            f"{path} is not a readable PyTorch weights file, perhaps truncated{hint} "
            f"({_brief(exc)})",
            path,
        ) from exc
    if not isinstance(state, Mapping):
        raise InceptionV1WeightsError(
            f"{path} holds a {type(state).__name__}, not a state dict", path
        )
    problems = _mismatches(model.state_dict(), state)
    if problems:
        raise InceptionV1WeightsError(
            f"{path} does not hold InceptionV1's weights: {problems}", path
        )
    model.load_state_dict(state, strict=True)
    return model


def inceptionv1(
    pretrained: bool = True, weights: str | os.PathLike | None = None, progress: bool = True
) -> InceptionV1:
    """InceptionV1 in eval mode: lucid's weights (downloaded once into torch hub's cache),
    the state-dict file ``weights``, or random weights with ``pretrained=False``."""
    if weights is not None and not pretrained:
        raise ValueError(
            "pretrained=False asks for random weights and weights= for a file: pass one of them"
        )
    model = InceptionV1()
    if weights is not None:
        load_weights(model, weights)
    elif pretrained:
        load_weights(model, _download(progress))
    return model.eval()

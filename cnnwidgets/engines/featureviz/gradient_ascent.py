"""The gradient-ascent loop: one optimisation step of an image parameterization per iteration.

:func:`ascent` returns an :class:`Ascent`, an iterator of :class:`Frame` objects (one per
optimisation step) that a widget can consume live and stop at any time (stop iterating, or
set the ``stop`` event). :func:`visualize` runs it to the end and returns a
:class:`Visualization`. (``render_iter`` and ``Render`` are the old names of ``ascent`` and
``Ascent``; they still work and warn.)

Why it is faster than lucent's ``render_vis`` (measured in docs/benchmarks.md with
``benchmarks/featureviz_vs_lucent.py``):

- parameters stay frozen, so the backward pass computes gradients for the image only, not
  for every weight of the network;
- the forward pass stops after the deepest layer an objective reads (``StopForward``
  from the capture hook); only class-logit objectives run the whole network;
- the geometric transforms and the upscale to the model's input are one ``grid_sample``;
- on the CPU the input is channels-last (oneDNN kernels);
- on the CPU each batch norm is folded into the convolution before it, in a private copy of
  the model (``fold_batchnorm``, see ``fold.py``): a step skips the batch norms' forward and
  backward passes;
- a list of objectives is one batch: the parameterization, transforms and optimiser run
  once, and the forward and backward passes are shared too, on the CPU in chunks of at
  most 8 images (``chunk``), which bounds the activations' memory; the result is the same
  up to float rounding (bit for bit with ``chunk=1``).

Hooks, eval mode and frozen parameters are in place only inside each step, so between
frames (and after an abandoned iteration) the model is exactly as it was found.

Size: the image is optimised at ``size`` pixels (default 128) and resampled to the model's
input size (224 for ImageNet models) before the forward pass, as lucent does. At 224 the
model sees each rendered pixel larger than its training pixels, so a unit's pattern is drawn
with fewer, bolder strokes, and the parameterization has a third of the values to optimise.
``input_size=size`` renders natively instead: cheaper per step, but the render is then tuned
to a 128-px input and excites its unit much less when shown at 224 (docs/benchmarks.md), so
the default keeps the model's size.
"""

from __future__ import annotations

import copy
import inspect
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch

from ...core.errors import InputError, ParameterError
from ...core.guard import preserved
from ...core.hooks import capture, run_until_captured
from ...core.model_base import as_model
from . import objectives as objs
from .fold import folded
from .objectives import BATCH_SIZE, INDEX, INPUT, LOGITS, Objective, RenderSpec, as_objective
from .param import make_param
from .redirect import redirected_relus
from .targets import fit_images, load_images
from .transforms import AffineTransform, Compose, Pad, Resize, Transform, as_transforms

DEFAULT_STEPS = 512
DEFAULT_SIZE = 128
#: most images per forward pass on the CPU (see Ascent.__init__)
CPU_CHUNK = 8


def _to_numpy(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [0, 1] -> (N, H, W, 3) float32 numpy on the CPU."""
    return images.detach().clamp(0, 1).permute(0, 2, 3, 1).to("cpu", torch.float32).numpy()


class FrameImages:
    """The images of one step, still on the device; converted to numpy only when asked
    (``np.asarray(images)``, ``images.numpy()``, ``images[k]``), so that a GPU render copies
    only the frames a widget actually sends."""

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor

    def numpy(self) -> np.ndarray:
        return _to_numpy(self.tensor)

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def __len__(self):
        return self.tensor.shape[0]

    def __getitem__(self, k) -> np.ndarray:
        return _to_numpy(self.tensor[k : k + 1] if isinstance(k, int) else self.tensor[k])[
            0 if isinstance(k, int) else slice(None)
        ]

    @property
    def shape(self) -> tuple:
        n, c, h, w = self.tensor.shape
        return (n, h, w, c)


class Frame:
    """One optimisation step: ``step`` (1-based), ``images`` (:class:`FrameImages`, the images
    that step evaluated), ``loss`` (float; reading it waits for the device).

    Unpacks as ``step, images, loss``.
    """

    def __init__(self, step: int, images: torch.Tensor, loss: torch.Tensor, values: torch.Tensor):
        self.step = step
        self.images = FrameImages(images)
        self._loss = loss
        self._values = values

    @property
    def loss(self) -> float:
        return float(self._loss)

    @property
    def values(self) -> np.ndarray:
        """Each image's objective value at this step (under that step's random transforms)."""
        return self._values.detach().cpu().numpy()

    def numpy(self) -> np.ndarray:
        return self.images.numpy()

    def __iter__(self):
        return iter((self.step, self.images, self.loss))

    def __repr__(self):
        return f"<Frame step {self.step}, {len(self.images)} images, loss {self.loss:.4g}>"


@dataclass
class Visualization:
    """Result of :func:`visualize`: ``images`` (N, H, W, 3) float32 in [0, 1];
    ``np.asarray(v)`` gives them. ``losses``: the loss at each step; ``objective_values``:
    each image's objective on the final image, without random transforms; ``objectives``:
    their descriptions; ``seed``: the seed that reproduces the run."""

    images: np.ndarray
    losses: np.ndarray
    objective_values: np.ndarray
    objectives: list[str]
    seed: int
    steps: int
    values_history: np.ndarray = field(repr=False, default=None)

    def __array__(self, dtype=None, copy=None):
        return self.images if dtype is None else self.images.astype(dtype)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, k):
        return self.images[k]


def _size2(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    h, w = size
    return int(h), int(w)


def _stream_seed(seed: int, *key: int) -> int:
    """A seed for the random stream named ``key`` of a run, independent of the other streams
    (numpy's SeedSequence hashes the whole key, so (seed, 1, k) and (seed + 1, 1, k) share
    nothing)."""
    return int(np.random.SeedSequence([int(seed) % 2**64, *key]).generate_state(1, np.uint64)[0])


class _Reseeded(AffineTransform):
    """``t`` drawing from a generator of its own, re-seeded at every call from (seed, the
    transform's position, the call): image k then gets the k-th draws of a fresh stream.

    The registered transforms draw with ``torch.randint``, which on the CPU fills a tensor in
    order, so the first k draws do not depend on how many follow: image k's transform does not
    depend on the batch size. (One generator per image would not rely on that, but costs N
    small draws per transform and step, milliseconds per step for large batches.)
    """

    def __init__(self, t: AffineTransform, seed: int, position: int):
        self.t, self.seed, self.position, self.fill = t, seed, position, t.fill
        self.calls = 0

    def __repr__(self):
        return repr(self.t)

    def matrices(self, n, size, generator):
        g = torch.Generator().manual_seed(_stream_seed(self.seed, 1, self.position, self.calls))
        self.calls += 1
        return self.t.matrices(n, size, g)


class _PerImage(Transform):
    """A random transform that is not affine, applied image by image, each image with a
    generator of its own."""

    def __init__(self, t: Transform, seed: int, position: int, n: int):
        self.t = t
        self.generators = [
            torch.Generator().manual_seed(_stream_seed(seed, 2, position, k)) for k in range(n)
        ]

    def __repr__(self):
        return repr(self.t)

    def __call__(self, x, generator=None):
        return torch.cat([self.t(x[k : k + 1], g) for k, g in enumerate(self.generators)])


def _independent(transforms: list, seed: int, n: int) -> list:
    """The transforms, each drawing its random numbers so that image k's draws depend on the
    seed and k only. Pad and Resize draw none; the affine ones still fuse into one resampling
    of the whole batch. A plain callable is left as it is."""
    out = []
    for position, t in enumerate(transforms):
        if isinstance(t, (Pad, Resize)) or not isinstance(t, Transform):
            out.append(t)
        elif isinstance(t, AffineTransform):
            out.append(_Reseeded(t, seed, position))
        else:
            out.append(_PerImage(t, seed, position, n))
    return out


class Ascent:
    """A feature-visualization run: iterate it for :class:`Frame` objects, one per step.

    ``objective``: an :class:`~cnnwidgets.engines.featureviz.objectives.Objective`, a string
    ``"layer:channel"`` (``"-layer:channel"`` for the negative image), or a list of them,
    rendered as one batch with one image each. ``batch``: with one objective, render N
    images of it at once (add ``diversity`` to make them differ).

    ``param``: a name from :data:`~cnnwidgets.engines.featureviz.param.PARAMETERIZATIONS`
    ("fft", default; "pixel"; "maco": the Fourier phase only, magnitude fixed) or a callable
    ``(batch, size, device=, generator=, decorrelate=, valid=) -> ImageParam``;
    ``param_args``: its parameters (e.g. ``{"decay_power": 1.5}``). ``decorrelate``: ImageNet
    colour decorrelation; ``valid``: "sigmoid" (default) or "clamp" to keep pixels in [0, 1].
    ``transforms``: "standard" (lucent's pad, jitter, scale, rotate, jitter), a list (of
    :mod:`~cnnwidgets.engines.featureviz.transforms` or any ``tensor -> tensor`` callables),
    or None. ``tv``, ``l1``, ``l2``, ``blur``: weights of image regularisers.
    ``lr``: Adam's learning rate (default: the parameterization's, 0.05; 0.25 for MACO);
    ``optimizer``: a callable ``params -> Optimizer`` instead.
    ``channels_last``: feed the model channels-last tensors (default: when its weights are
    stored so, see ``Model.set_channels_last``; models that ``.view()`` their activations
    fall back automatically). ``chunk``: images per forward pass (default: at most
    ``CPU_CHUNK`` (8) on the CPU, the whole batch elsewhere).
    ``redirect_relu``: lucid's redirected ReLU gradient for the first ``redirect_steps`` steps
    (default: on for models that ask for it, such as ``"inceptionv1"``; see ``redirect.py``).
    ``fold_batchnorm``: run the steps on a copy of the model in which each BatchNorm2d is
    folded into the convolution before it (``fold.py``): the same values and gradients to
    float rounding (a convolution whose own output an objective reads is not folded), with
    the batch norms' work gone from every step. Default (None): on the CPU, where it was
    measured to help (docs/benchmarks.md); off elsewhere, where it has not been measured.
    :meth:`evaluate` and the result's ``objective_values`` always use the model itself.
    ``folded_pairs`` lists the (convolution, batch norm) names folded. Nothing folds while the
    model carries a hook of the user's (it would run on the copy); a hook added between steps
    makes the following steps run the model itself.
    ``seed``: makes the run repeatable (None draws one from torch's global generator; the
    result's ``seed`` reproduces it). Image k of a batch starts from a stream keyed by
    (seed, k) and takes the k-th draws of the transforms' streams: the images are independent
    renders (unless a ``batchwise`` objective compares them), and image k is the same whatever
    the batch size (bit for bit when ``size`` is a multiple of 8; otherwise torch's vectorised
    kernels round the elements left at the end of a tensor in scalar code, a last-bit
    difference). ``size``: the optimised image (default 128), resampled to ``input_size``
    (default the model's) before each forward pass. ``stop``: a ``threading.Event`` that ends
    the run early.
    ``init``: start from an image instead of noise (feature inversion, style transfer,
    accentuation): anything ``cw.load_image`` reads, or a batch (a list, a 4-D tensor), one
    image for all or one per rendered image. It is fitted to ``size`` (as is when it has that
    size, else resized and centre-cropped as the model's preprocessing does), and the first
    frame equals it to within 1/255 for "pixel", "fft" and "lowres" (the closest smooth
    image); "maco" takes its phase only; "cppn" cannot start from an image (an error).

    Stops after ``steps`` steps, when the consumer stops iterating, or when ``stop`` is set.
    :meth:`result` gives the :class:`Visualization` of the images reached so far; :meth:`frame`
    the current images as numpy.
    """

    def __init__(
        self,
        model,
        objective,
        *,
        steps: int = DEFAULT_STEPS,
        size: int | Sequence[int] = DEFAULT_SIZE,
        param: str | Callable = "fft",
        param_args: dict | None = None,
        decorrelate: bool = True,
        batch: int | None = None,
        transforms="standard",
        lr: float | None = None,
        seed: int | None = None,
        tv: float = 0.0,
        l1: float = 0.0,
        l2: float = 0.0,
        blur: float = 0.0,
        valid: str = "sigmoid",
        input_size: int | Sequence[int] | None = None,
        stop: threading.Event | None = None,
        optimizer: Callable[[list], torch.optim.Optimizer] | None = None,
        channels_last: bool | None = None,
        chunk: int | None = None,
        redirect_relu: bool | None = None,
        redirect_steps: int = 16,
        init=None,
        maco: bool = False,
        fold_batchnorm: bool | None = None,
    ):
        if maco:
            warnings.warn("maco=True is deprecated; use param='maco'", FutureWarning, stacklevel=3)
            param = "maco"
        self.model = as_model(model)
        if self.model.in_channels != 3:
            raise ValueError(
                f"feature visualization renders RGB images; this model takes "
                f"{self.model.in_channels} input channels"
            )
        if isinstance(objective, (list, tuple)):
            if not objective:
                raise ValueError("no objectives to render")
            self.objectives = [as_objective(o) for o in objective]
            if batch is not None and batch != len(self.objectives):
                raise ValueError(
                    f"a list of {len(self.objectives)} objectives renders one image "
                    f"each; batch={batch} does not match"
                )
            self.per_image = True
        else:
            self.objectives = [as_objective(objective)]
            self.per_image = False
        n = len(self.objectives) if self.per_image else (1 if batch is None else int(batch))
        if int(steps) < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        for o in self.objectives:
            o.validate(self.model)

        self.steps = int(steps)
        self.stop_event = stop
        # Lucid's redirected ReLU for the first steps: a unit that is off for the whole noise
        # image would otherwise get no gradient at all (see redirect.py). On by default for
        # the models that lucid optimised that way (Model.redirect_relu).
        if redirect_relu is None:
            redirect_relu = bool(getattr(self.model, "redirect_relu", False))
        self.redirect_steps = int(redirect_steps) if redirect_relu else 0
        self.seed = int(torch.randint(0, 2**62, (1,)).item()) if seed is None else int(seed)
        self.batch = n
        device = self.model.device
        # Image k's start and its random transforms depend on the seed and k alone: images of
        # a batch are independent renders (unless an objective compares them), and image k
        # is the same in a batch of any size.
        self.param = make_param(
            param,
            n,
            _size2(size),
            device=device,
            generator=torch.Generator().manual_seed(_stream_seed(self.seed, 0)),
            decorrelate=decorrelate,
            valid=valid,
            **dict(param_args or {}),
        )
        if init is not None:
            self._start_from(init, _size2(size))
        target = self.model.input_size if input_size is None else _size2(input_size)
        self.input_size = tuple(target)
        user = _independent(as_transforms(transforms), self.seed, n)
        # The final resize fuses with the geometric transforms into one resampling; it is a
        # no-op when the image already has the model's size.
        self.transform = Compose(user + [Resize(target)])
        self._eval_transform = Compose([Resize(target)])

        penalty = 0
        for weight, reg in (
            (tv, objs.total_variation),
            (l1, objs.l1),
            (l2, objs.l2),
            (blur, objs.blur),
        ):
            if weight:
                penalty = reg() * float(weight) + penalty
        self._penalty = penalty if isinstance(penalty, Objective) else None
        # Target images' activations are computed here, once, at the render's input size.
        spec = RenderSpec(self.model, n, self.input_size, _size2(size))
        for o in self.objectives:
            o.bind(spec)

        self.lr = float(getattr(self.param, "default_lr", 0.05) if lr is None else lr)
        make_opt = optimizer or (lambda ps: torch.optim.Adam(ps, lr=self.lr))
        self.optimizer = make_opt(self.param.parameters())

        wanted = set().union(*(o.layers for o in self.objectives))
        if self._penalty is not None:
            wanted |= self._penalty.layers
        self._needs_logits = LOGITS in wanted
        # Inputs follow the weights' layout (Model.channels_last): mixed layouts make oneDNN
        # reorder every weight on every step.
        self._channels_last = (
            self.model.channels_last if channels_last is None else bool(channels_last)
        )
        # Images are independent unless an objective compares them (diversity), so the
        # batch can go through the model in chunks. On the CPU a chunk of 8 took 0.70 (8
        # channels) and 0.78 (inversion of 8 photos) of the time of one image at a time on
        # the current 2-core Xeon, with 1 thread or 2 (docs/benchmarks.md); an older EPYC
        # had measured the reverse. Bigger chunks were not measured; 8 bounds the memory of
        # the activations. A GPU wants the whole batch.
        batchwise = any(o.batchwise for o in self.objectives)
        if chunk is not None and int(chunk) < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        if batchwise:
            self.chunk = n
        elif chunk is None:
            self.chunk = min(n, CPU_CHUNK) if device.type == "cpu" else n
        else:
            self.chunk = int(chunk)
        # (module, call) per layer name: "name@k" reads the k-th call of a module that runs
        # several times, as every other engine does.
        self._modules = {
            name: self.model.resolve_layer(name) for name in sorted(wanted - {INPUT, LOGITS})
        }
        # (model, hooked modules) that the steps run: the model itself, or its folded copy.
        # evaluate() always runs the model itself.
        self._exact = (self.model, self._modules)
        self._run = self._exact
        self.fold_batchnorm = (
            device.type == "cpu" if fold_batchnorm is None else bool(fold_batchnorm)
        )
        self.folded_pairs: tuple[tuple[str, str], ...] = ()
        self._folding = None
        if self.fold_batchnorm and (self._modules or self._needs_logits):
            self._use_folded()
        self.step = 0
        self._losses: list[torch.Tensor] = []
        self._values: list[torch.Tensor] = []

    def _use_folded(self) -> None:
        """Run the steps on the folded copy, hooking the same layers by name there (or on the
        model itself when nothing folds: a model with hooks of the user's, for one)."""
        self._run, self.folded_pairs, self._folding = self._exact, (), None
        infos = {name: self.model.layer_info.resolve(name) for name in self._modules}
        # A convolution whose raw output an objective reads must keep it.
        folding = folded(self.model, keep={info.module_name for info in infos.values()})
        if not folding.pairs:
            return
        # The same Model with the copy as its module: logits() then selects the output of the
        # copy as it would the model's.
        run_model = copy.copy(self.model)
        run_model.module = folding.module
        modules = {
            name: (folding.module.get_submodule(info.module_name), info.call or 0)
            for name, info in infos.items()
        }
        self._run = (run_model, modules)
        self.folded_pairs = folding.pairs
        self._folding = folding

    def _check_folding(self) -> None:
        """Before each step (under the model's lock): the copy follows in-place changes of the
        model's values; a hook of the user's or a replaced submodule, parameter or buffer since
        the last step folds afresh (see fold.py), so that the steps see the model as it is."""
        if self._folding is not None and not self._folding.refresh():
            self._use_folded()

    def _start_from(self, init, size: tuple[int, int]) -> None:
        """Set the parameterization to the start image(s) ``init``, fitted to ``size``."""
        start = fit_images(load_images(init, "the init image"), size, self.model)
        if start.shape[0] not in (1, self.batch):
            raise InputError(
                f"{start.shape[0]} init images for a render of {self.batch}: give one image "
                f"or one per rendered image"
            )
        set_images = getattr(self.param, "set_images", None)
        if set_images is None:
            raise ParameterError(
                f"this parameterization ({type(self.param).__name__}) cannot start from an "
                "image: it has no set_images(images) method"
            )
        set_images(start.to(self.model.device))

    # ---- one step ---------------------------------------------------------------------------
    def _activations(
        self, images: torch.Tensor, x: torch.Tensor, sl: slice, exact: bool = False
    ) -> dict:
        """Run the model (``exact``) or what the steps run on input ``x``, the images ``sl``
        of the batch (hooks only for this call) -> activations dict."""
        run = self._exact if exact else self._run
        if self._channels_last:
            try:
                x_last = x.contiguous(memory_format=torch.channels_last)
                return self._forward(images, x_last, sl, run)
            except RuntimeError:
                # A model that calls .view() on its activations cannot take channels_last
                # tensors; run it as it was written from now on (a genuine error recurs below).
                self._channels_last = False
        return self._forward(images, x, sl, run)

    def _forward(self, images: torch.Tensor, x: torch.Tensor, sl: slice, run) -> dict:
        acts: dict = {
            INPUT: images,
            INDEX: torch.arange(sl.start, sl.start + images.shape[0]),
            BATCH_SIZE: self.batch,
        }
        if not self._modules and not self._needs_logits:
            return acts
        model, modules = run
        # clone(): a later in-place op (ReLU(inplace=True)) must not change what we read;
        # clone keeps the graph, so gradients still flow.
        with capture(
            modules, stop_after_last=not self._needs_logits, transform=torch.Tensor.clone
        ) as store:
            if self._needs_logits:
                acts[LOGITS] = model.logits(x)
            else:
                run_until_captured(lambda: model.module(x))
        acts.update(store)
        return acts

    def _objective_values(self, acts: dict, start: int = 0) -> torch.Tensor:
        """Values of the images ``start..start+len`` whose activations are in ``acts``."""
        n = acts[INPUT].shape[0]
        if self.per_image:
            values = [self.objectives[start + k](acts) for k in range(n)]
            return torch.stack([v[k] if v.ndim else v for k, v in enumerate(values)])
        values = self.objectives[0](acts)
        return values.expand(n) if values.ndim == 0 else values

    def _chunks(self, n: int):
        return [slice(s, min(n, s + self.chunk)) for s in range(0, n, self.chunk)]

    def _one_step(self) -> Frame:
        with preserved(self.model.module):
            self._check_folding()
            images = self.param()
            # Cut the graph at the images and at the model input, so that the model can run
            # chunk by chunk (each backward frees its chunk's activations) while the
            # parameterization and the transforms still run once for the whole batch.
            image_leaf = images.detach().requires_grad_(True)
            # Each transform draws from its own stream (see _independent).
            x = self.model.normalize(self.transform(image_leaf))
            # The image is optimised in float32; the model gets its own dtype (a float64
            # model would refuse float32 input), and the gradient comes back as float32.
            x_model = x.detach().to(self.model.dtype)
            parts, losses, x_grads = [], [], []
            redirect = redirected_relus if self.step < self.redirect_steps else nullcontext
            for sl in self._chunks(images.shape[0]):
                # A leaf per chunk, not a slice of one leaf for the batch: a slice's gradient
                # arrives as a zero-filled tensor of the whole batch's size, added into the
                # leaf's, once per chunk (8 fills and adds of the 224-px input per step for 8
                # images one at a time, about 5 % of a Lite0 step; docs/benchmarks.md).
                x_chunk = x_model[sl].detach().requires_grad_(True)
                with redirect():
                    acts = self._activations(image_leaf[sl], x_chunk, sl)
                values = self._objective_values(acts, sl.start)
                total = values if self._penalty is None else values - self._penalty(acts)
                loss = -total.sum()
                loss.backward()
                parts.append(values.detach())
                losses.append(loss.detach())
                x_grads.append(x_chunk.grad)
            if any(g is not None for g in x_grads):  # None where no objective reads the model
                grad = torch.cat(
                    [
                        torch.zeros_like(x_model[sl]) if g is None else g
                        for g, sl in zip(x_grads, self._chunks(images.shape[0]))
                    ]
                )
                x.backward(grad.to(x.dtype))
            self.optimizer.zero_grad(set_to_none=True)
            if image_leaf.grad is not None:
                images.backward(image_leaf.grad)
            self.optimizer.step()
        loss, values = torch.stack(losses).sum(), torch.cat(parts)
        self.step += 1
        self._losses.append(loss)
        self._values.append(values)
        return Frame(self.step, images.detach(), loss, values)

    # ---- iterator protocol --------------------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        if self.step >= self.steps or (self.stop_event is not None and self.stop_event.is_set()):
            raise StopIteration
        return self._one_step()

    def run(self) -> Visualization:
        """Run the remaining steps (or until ``stop`` is set) and return the result."""
        for _ in self:
            pass
        return self.result()

    # ---- results ----------------------------------------------------------------------------
    def current_images(self) -> torch.Tensor:
        with torch.no_grad():
            return self.param().detach()

    def frame(self) -> np.ndarray:
        """The current images, (N, H, W, 3) float32 numpy in [0, 1]."""
        return _to_numpy(self.current_images())

    def evaluate(self, images: torch.Tensor | None = None) -> np.ndarray:
        """Each image's objective on ``images`` (default: the current ones), without the
        random transforms, only the resize to the model's input."""
        images = self.current_images() if images is None else images
        with preserved(self.model.module), torch.no_grad():
            x = self.model.normalize(self._eval_transform(images)).to(self.model.dtype)
            values = torch.cat(
                [
                    self._objective_values(
                        self._activations(images[sl], x[sl], sl, exact=True), sl.start
                    )
                    for sl in self._chunks(images.shape[0])
                ]
            )
        return values.cpu().numpy()

    def result(self) -> Visualization:
        images = self.current_images()
        losses = torch.stack(self._losses).cpu().numpy() if self._losses else np.zeros(0)
        history = (
            torch.stack(self._values).cpu().numpy()
            if self._values
            else np.zeros((0, images.shape[0]))
        )
        return Visualization(
            images=_to_numpy(images),
            losses=losses,
            objective_values=self.evaluate(images),
            objectives=[o.name for o in self.objectives],
            seed=self.seed,
            steps=self.step,
            values_history=history,
        )


def ascent(model, objective, **settings) -> Ascent:
    """Start a run; iterate the returned :class:`Ascent` for one :class:`Frame` per step.

    Takes the settings of :class:`Ascent`. Errors in them (unknown layer, channel out of
    range) are raised here, before the first step.
    """
    return Ascent(model, objective, **settings)


def visualize(model, objective, *, stream: bool = False, **settings):
    """Feature visualization: optimise images that maximise ``objective``.

    ``settings`` are those of :class:`Ascent` (steps, size, param, decorrelate, batch,
    transforms, lr, seed, tv, l1, l2, blur, valid, input_size, stop, optimizer, ...).

    Returns a :class:`Visualization` (``np.asarray`` gives (N, H, W, 3) floats in [0, 1]),
    or with ``stream=True`` the :class:`Ascent` iterator that yields ``(step, images, loss)``
    frames.
    """
    run = Ascent(model, objective, **settings)
    return run if stream else run.run()


def optimized_pair(model, layer: str, channel: int, n: int = 1, **settings):
    """(negative, positive) optimized images of one channel for Distill's six-column figure,
    each (n, H, W, 3), rendered as one batch with ``settings`` of :class:`Ascent`."""
    objectives = [f"-{layer}:{channel}"] * n + [f"{layer}:{channel}"] * n
    images = np.asarray(visualize(model, objectives, **settings))
    return images[:n], images[n:]


def _with_settings(fn, *, leading: int):
    """``fn``'s signature with Ascent's settings spelled out (help(), IDEs, notebooks' tab
    completion), so the settings are defined once, on :class:`Ascent`."""
    own = list(inspect.signature(fn).parameters.values())
    settings = list(inspect.signature(Ascent.__init__).parameters.values())[3:]
    keep = [p for p in own[:leading]] + [p for p in own if p.kind is p.KEYWORD_ONLY]
    fn.__signature__ = inspect.Signature(
        keep + [p for p in settings if p.name not in {q.name for q in keep}]
    )
    return fn


_with_settings(visualize, leading=2)
_with_settings(ascent, leading=2)


class Render(Ascent):
    """Deprecated name of :class:`Ascent`."""

    def __init__(self, *args, **kwargs):
        warnings.warn("featureviz.Render is now featureviz.Ascent", FutureWarning, stacklevel=2)
        super().__init__(*args, **kwargs)


def render_iter(model, objective, **settings) -> Ascent:
    """Deprecated name of :func:`ascent`."""
    warnings.warn("featureviz.render_iter is now featureviz.ascent", FutureWarning, stacklevel=2)
    return Ascent(model, objective, **settings)

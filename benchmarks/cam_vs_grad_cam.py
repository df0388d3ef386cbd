"""Grad-CAM, Grad-CAM++ and Score-CAM: ours against pytorch-grad-cam on the same layer and class.

Agreement is checked twice: our ``raw`` map (layer resolution, before ReLU) put through
pytorch-grad-cam's own ReLU + min-max + cv2 resize must match its output to float tolerance
(this isolates the channel weights, the part that is the method), and our display ``map``
must correlate with its output (this covers our upsampling and normalisation).
"""

from __future__ import annotations

import numpy as np

from . import floors
from .agreement import Agreement, compare_each
from .common import Logits, Settings, engine, peer_model
from .inputs import photo_batch, top_classes
from .profiling import top_ops
from .report import Row, Target
from .timing import time_interleaved

PEER = "pytorch-grad-cam"
NAMES = {"gradcam": "Grad-CAM", "gradcam_plus_plus": "Grad-CAM++", "scorecam": "Score-CAM"}


def peer_cam(model, x, targets, layer: str, method: str) -> np.ndarray:
    """pytorch-grad-cam as its README uses it: a ``with`` block around one call."""
    from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cls = {"gradcam": GradCAM, "gradcam_plus_plus": GradCAMPlusPlus, "scorecam": ScoreCAM}[method]
    with cls(model=Logits(model), target_layers=[model.module_of(layer)]) as cam:
        return cam(input_tensor=x, targets=[ClassifierOutputTarget(t) for t in targets])


def ours_cam(model, x, targets, layer: str, method: str) -> list:
    out = engine("cam")(
        model,
        x,
        layer=layer,
        target=list(targets) if len(targets) > 1 else targets[0],
        method=method,
    )
    return out if isinstance(out, list) else [out]


def through_peer_scaling(raw: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Our raw CAM made into a display map by pytorch-grad-cam's own code path."""
    from pytorch_grad_cam.utils.image import scale_cam_image

    relu = np.maximum(raw, 0)[None]
    scaled = scale_cam_image(relu, (size[1], size[0]))
    return scale_cam_image(scaled)[0]  # its aggregate_multi_layers re-scales once more


def agreement(
    model, x, targets, layer: str, method: str, peer_targets=None, peer=None
) -> Agreement:
    """``peer_targets`` differs from ``targets`` only to prove that a mismatch is caught;
    ``peer``: the model the peer runs (default ``model``; see ``common.peer_model``)."""
    peer_m = peer or model
    ours = ours_cam(model, x, targets, layer, method)
    peer = peer_cam(peer_m, x, peer_targets or targets, layer, method)
    peer_m.module.zero_grad(set_to_none=True)  # pytorch-grad-cam leaves .grad on the weights
    size = tuple(x.shape[-2:])
    raw = compare_each(
        [through_peer_scaling(a.raw, size) for a in ours], list(peer), rtol=1e-3, atol=1e-5
    )
    shown = compare_each([a.map for a in ours], list(peer), rtol=1e-3, atol=1e-5)
    ok = raw.ok and shown.ok
    worst = raw if not raw.ok else shown
    return Agreement(
        min(raw.corr, shown.corr),
        worst.max_diff,
        worst.scale,
        ok,
        f"raw r={raw.corr:.4f}, map r={shown.corr:.4f}",
    )


def run_case(
    model, layer: str, method: str, batch: int, s: Settings, row_name: str | None = None
) -> Row:
    x = photo_batch(model, batch)
    targets = top_classes(model, x)
    row = Row(row_name or NAMES[method], model.name, f"batch {batch} @ {layer}", PEER)
    if engine("cam") is None:
        row.note = "cw.cam not available yet"
        return row
    theirs = peer_model(model, s)
    row.agreement = agreement(model, x, targets, layer, method, peer=theirs)
    row.targets = []
    if s.quick:
        return row
    fns = {
        "ours": lambda: ours_cam(model, x, targets, layer, method),
        "peer": lambda: peer_cam(theirs, x, targets, layer, method),
    }
    if method == "scorecam":
        # Score-CAM's unavoidable work is one forward pass per channel of the layer.
        channels = model.layer_info[layer].shape[0]
        masked = x.repeat_interleave(channels, 0) if batch == 1 else None
        if masked is not None:
            fns["fwd"] = lambda: [floors.forward(model, c) for c in masked.split(64)]
        row.setting += f" ({channels} masked forwards per image)"
    else:
        fns["fwd"] = lambda: floors.forward(model, x)
        fns["fwd+bwd"] = lambda: floors.forward_backward(model, x, targets)
    t = time_interleaved(
        fns, device=s.device, min_rounds=s.min_rounds, max_rounds=s.max_rounds, budget_s=s.budget_s
    )
    theirs.module.zero_grad(set_to_none=True)
    row.ours, row.peer, row.ratio, row.rounds = (
        t.median("ours"),
        t.median("peer"),
        t.ratio("ours", "peer"),
        t.rounds,
    )
    if "fwd" in fns:
        row.fwd, row.ours_fwd = t.median("fwd"), t.ratio("ours", "fwd")
    if "fwd+bwd" in fns:
        row.fwd_bwd = t.median("fwd+bwd")
    if method in ("gradcam", "gradcam_plus_plus"):
        row.targets = [
            Target("ours/peer <= 0.4", row.ratio, 0.4),
            Target("ours/fwd <= 1.3", row.ours_fwd, 1.3),
        ]
    else:
        row.targets = [Target("ours/peer <= 1.0", row.ratio, 1.0)]
    if s.profile:
        print(f"\n--- profile: ours, {row.comparison} {row.model} {row.setting}")
        print(top_ops(fns["ours"], s.device))
    return row

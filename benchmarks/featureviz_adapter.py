"""Feature-visualization rows: ``featureviz_vs_lucent.run`` (the feature-visualization
engineer's module, imported as is), plus lucent with a batch parameterization and the floor.

``featureviz_vs_lucent.run`` times ours against lucent called once per channel and measures
both objectives the same way. Lucent can also render N channels at once (``param.image(size,
batch=N)`` with one ``channel(layer, c, batch=i)`` objective per image); that variant and the
floor (N images' forward and backward pass per step) are timed here, interleaved with ours.
With ``match_steps``, one more row: the time ours needs to reach the objective lucent reaches
in ``match_steps`` steps per channel (its default is 512).
"""

from __future__ import annotations

import numpy as np
import torch

from . import floors
from .common import Settings, load
from .report import Row, Target
from .timing import time_interleaved


def lucent_batched(
    model, layer: str, chans, steps: int, size: int, seed: int = 0, peer_layout: str = "pytorch"
) -> np.ndarray:
    from . import featureviz_vs_lucent as fv

    fv._lucent_compat()
    from lucent.optvis import objectives, param, render, transform

    module = fv.lucent_module(model, peer_layout)
    torch.manual_seed(seed)
    name = layer.replace(".", "_")
    obj = sum(
        (objectives.channel(name, c, batch=i) for i, c in enumerate(chans[1:], 1)),
        objectives.channel(name, chans[0], batch=0),
    )
    images = render.render_vis(
        module,
        obj,
        lambda: param.image(size, batch=len(chans)),
        transforms=list(transform.standard_transforms) + [model.normalize],
        thresholds=(steps,),
        preprocess=False,
        show_image=False,
        progress=False,
    )
    return images[-1]


def _time_to_match_row(fv, cfg: dict, n: int, s: Settings) -> Row:
    """One run (minutes): lucent's default 512 steps per channel against ours until it reaches
    lucent's objective (see ``featureviz_vs_lucent.time_to_match``)."""
    res = fv.time_to_match(
        cfg["model"],
        n,
        cfg["match_steps"],
        cfg["size"],
        check_every=cfg.get("check_every", 16),
        peer_layout=s.peer_layout,
    )
    row = Row(
        "Feature visualization, time to lucent's objective",
        cfg["model"],
        f"{n} ch @ {res['layer']}, {cfg['size']}px; lucent {res['lucent_steps']} steps/ch, "
        f"ours stopped at {res['ours_steps']} steps",
        "lucent, 1 call/ch",
        ours=res["ours_s"],
        peer=res["lucent_s"],
        ratio=res["ratio"],
        rounds=1,
    )
    row.note = (
        f"objective ours {res['ours_objective']:.3g} vs lucent {res['lucent_objective']:.3g}; "
        f"{res['channels_at_or_above']}/{n} channels at or above lucent's"
    )
    if n >= 8:
        row.targets.append(Target("ours/lucent <= 0.25", row.ratio, 0.25))
    row.targets.append(
        Target(
            "objective ours - lucent >= 0",
            res["ours_objective"] - res["lucent_objective"],
            0.0,
            higher_is_better=True,
        )
    )
    return row


def rows(cfg: dict, s: Settings) -> list[Row]:
    try:
        from . import featureviz_vs_lucent as fv
    except ImportError as exc:
        return [
            Row(
                "Feature visualization",
                cfg["model"],
                "-",
                "lucent",
                note=f"benchmarks/featureviz_vs_lucent.py not available ({exc})",
            )
        ]
    from cnnwidgets.engines.featureviz import visualize

    n = max(cfg["channels"])
    steps, size = cfg["steps"], cfg["size"]
    repeats = 1 if s.quick else s.min_rounds
    res = fv.run(cfg["model"], n, steps, size, repeats=repeats, peer_layout=s.peer_layout)
    layer, chans = res["layer"], list(range(n))
    setting = f"{{}} ch @ {layer}, {steps} steps, {size}px"
    one = Row(
        "Feature visualization",
        cfg["model"],
        setting.format(1),
        "lucent",
        ours=res["ours_one_s_per_step"] * steps,
        peer=res["lucent_one_s_per_step"] * steps,
        ratio=res["ratio_one"],
        rounds=repeats,
    )
    many = Row(
        "Feature visualization",
        cfg["model"],
        setting.format(n),
        "lucent, 1 call/ch",
        ours=res["ours_batch_s_per_step"] * steps,
        peer=res["lucent_batch_s_per_step"] * steps,
        ratio=res["ratio_batch"],
        rounds=repeats,
    )
    obj = {
        k: res[f"{k}_objective"] for k in ("ours_one", "lucent_one", "ours_batch", "lucent_batch")
    }
    one.note = f"objective ours {obj['ours_one']:.3g} vs lucent {obj['lucent_one']:.3g}"
    many.note = f"objective ours {obj['ours_batch']:.3g} vs lucent {obj['lucent_batch']:.3g}"
    if n >= 8:
        many.targets.append(Target("ours/lucent <= 0.25", many.ratio, 0.25))
    # The objective is a channel mean that can be negative: "equal or higher" is a difference.
    many.targets.append(
        Target(
            "objective ours - lucent >= 0",
            obj["ours_batch"] - obj["lucent_batch"],
            0.0,
            higher_is_better=True,
        )
    )
    out = [one, many]

    if cfg.get("match_steps"):
        out.append(_time_to_match_row(fv, cfg, n, s))

    model = load(cfg["model"], s.device)
    x = model.example_input(n)
    batched = Row("Feature visualization", cfg["model"], setting.format(n), "lucent, batch param.")
    fns = {
        "ours": lambda: visualize(
            model, [f"{layer}:{c}" for c in chans], steps=steps, size=size, seed=0
        ),
        "peer": lambda: lucent_batched(model, layer, chans, steps, size, peer_layout=s.peer_layout),
        "floor step": lambda: floors.forward_backward(model, x, [0] * n),
    }
    t = time_interleaved(
        fns,
        device=s.device,
        warmup=0 if s.quick else 1,
        min_rounds=1 if s.quick else s.min_rounds,
        max_rounds=1 if s.quick else s.max_rounds,
        budget_s=0 if s.quick else s.budget_s,
    )
    batched.ours, batched.peer, batched.ratio = (
        t.median("ours"),
        t.median("peer"),
        t.ratio("ours", "peer"),
    )
    batched.fwd_bwd = t.median("floor step") * steps
    batched.ours_fwd = float("nan")
    batched.rounds = t.rounds
    batched.note = "fwd+bwd: steps x one full pass of the batch at the model's input size"
    out.append(batched)
    return out

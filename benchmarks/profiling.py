"""torch.profiler summaries of our side, for the rows that miss a target; per-category shares
of a render step; instruction counts under callgrind.

Per category (``op_shares``): each op's self time is charged to the nearest enclosing op that
names a category, so the ``fill_`` and ``copy_`` inside ``constant_pad_nd`` count as padding
and the ops inside ``NativeBatchNormBackward`` as batch norm.

    python -m benchmarks.profiling --case inversion --threads 1          # ours before/after, lucent
    python -m benchmarks.profiling --case featureviz --threads 1

Instruction counts do not depend on the machine's load (timings on a shared CPU do): run one
side under callgrind with instrumentation off until the measured steps start:

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=after.out \\
        python -m benchmarks.profiling --case inversion --side after --callgrind
    callgrind_annotate after.out | head     # "PROGRAM TOTALS": instructions of those steps
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

import torch
from torch.profiler import ProfilerActivity, profile

# First match wins, in this order, on the op's own name and then on its enclosing ops'.
CATEGORIES = (
    ("batch norm", re.compile(r"batch_norm|BatchNorm")),
    ("padding (F.pad)", re.compile(r"constant_pad_nd|ConstantPadNd")),
    ("convolution", re.compile(r"conv|Convolution")),
    ("ReLU6", re.compile(r"hardtanh|Hardtanh")),
    ("resampling", re.compile(r"grid_sampler|GridSampler|upsample|Upsample")),
)


def top_ops(fn: Callable[[], object], device: str = "cpu", rows: int = 12) -> str:
    """Run ``fn`` once under the profiler; the ops that took the most time, self time first."""
    acts = [ProfilerActivity.CPU]
    if torch.device(device).type == "cuda":
        acts.append(ProfilerActivity.CUDA)
    fn()  # warm caches so the profile shows steady-state work
    with profile(activities=acts, record_shapes=False) as prof:
        fn()
    key = "self_cuda_time_total" if torch.device(device).type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=rows)


def _category(event) -> str:
    while event is not None:
        for name, pattern in CATEGORIES:
            if pattern.search(event.name):
                return name
        event = event.cpu_parent
    return "other"


def op_shares(fn: Callable[[], object], warmup: bool = True) -> dict[str, float]:
    """Self CPU seconds of one run of ``fn`` by category (see the module docstring), and
    ``"total"``."""
    if warmup:
        fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    out = {name: 0.0 for name, _ in CATEGORIES} | {"other": 0.0}
    for event in prof.events():
        out[_category(event)] += event.self_cpu_time_total / 1e6
    out["total"] = sum(out.values())
    return out


def share_table(columns: dict[str, dict[str, float]], per: float = 1.0) -> str:
    """A markdown table of ``op_shares`` results side by side, in ms (divided by ``per``) and
    as a share of each column's total."""
    names = [n for n, _ in CATEGORIES] + ["other", "total"]
    head = "| | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns) + "\n"
    rows = []
    for n in names:
        cells = []
        for col in columns.values():
            ms = col[n] * 1e3 / per
            share = col[n] / col["total"] if col["total"] else 0.0
            cells.append(f"{ms:.0f} ms" + ("" if n == "total" else f" ({share:.0%})"))
        rows.append(f"| {n} | " + " | ".join(cells) + " |")
    return head + "\n".join(rows)


# ---- the two render steps of docs/benchmarks.md --------------------------------------------
def _render_step(case: str, side: str, steps: int):
    """A function that runs ``steps`` more steps of one render of ``case`` for ``side``
    ("after": the code as it is; "before": without folding and with F.pad padding), made and
    past its first step here."""
    from cnnwidgets.engines.featureviz import activation_match, ascent

    from . import featureviz_inversion as inv
    from . import featureviz_vs_lucent as fv

    model = fv.before_model("efficientnet_lite0") if side == "before" else _model()
    settings = dict(fv.BEFORE) if side == "before" else {}
    if case == "inversion":
        objective = activation_match(inv.DEFAULT_LAYER, list(inv.PHOTOS))
        make = lambda: ascent(  # noqa: E731
            model, objective, batch=8, steps=10**6, size=128, seed=0, transforms=None, **settings
        )
    else:
        objs = [f"{fv.DEFAULT_LAYER}:{c}" for c in range(8)]
        make = lambda: ascent(model, objs, steps=10**6, size=128, seed=0, **settings)  # noqa: E731
    run = make()
    next(run)  # binding, folding and the first step's allocations out of the way

    def step():
        for _ in range(steps):
            next(run)

    return step


def _model():
    import cnnwidgets as cw

    return cw.load_model("efficientnet_lite0")


def _lucent_steps(case: str, steps: int) -> Callable[[], object]:
    """``steps`` steps of lucent's ``render_vis`` on the same case (its setup included, which
    is small next to a step: hooks on a copied module, the parameterization)."""
    from . import featureviz_inversion as inv
    from . import featureviz_vs_lucent as fv

    model = _model()
    if case == "inversion":
        target = inv.targets(model, inv.DEFAULT_LAYER, 128)
        return lambda: inv.lucent(model, inv.DEFAULT_LAYER, target, steps, 128)
    return lambda: fv._lucent_each(model, fv.DEFAULT_LAYER, range(8), steps, 128, 0)


def main(argv=None):
    p = argparse.ArgumentParser(description="per-category profile of a render step")
    p.add_argument("--case", choices=("inversion", "featureviz"), default="inversion")
    p.add_argument("--side", choices=("before", "after", "lucent", "all"), default="all")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--callgrind",
        action="store_true",
        help="toggle callgrind's instrumentation around the steps (run under valgrind)",
    )
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    sides = ("before", "after", "lucent") if a.side == "all" else (a.side,)
    fns = {
        s: _lucent_steps(a.case, a.steps) if s == "lucent" else _render_step(a.case, s, a.steps)
        for s in sides
    }
    if a.callgrind:
        for fn in fns.values():
            fn()  # warm
            torch._C._valgrind_toggle()
            fn()
            torch._C._valgrind_toggle()
        return
    columns = {s: op_shares(fn) for s, fn in fns.items()}
    print(f"{a.case}, 8 images, ms per step ({a.steps} steps profiled, {a.threads} thread(s))")
    print(share_table(columns, per=a.steps))


if __name__ == "__main__":
    main()

"""Images per forward pass of a feature-visualization batch on the CPU (``Ascent(chunk=...)``).

    python -m benchmarks.featureviz_chunk [--threads 2] [--rounds 5] [--steps 3]

Two workloads of 8 images on EfficientNet-Lite0, each run with chunks of 1, 2 and 8 images,
timed interleaved in a shuffled order per round (``timing.time_interleaved``): 8 channels of
``_blocks.8`` (lucent's standard transforms, 128 px upscaled to 224), and the inversion of the
8 bundled photos at ``_blocks.6`` (no transforms), each through the render function of its
comparison with lucent (``featureviz_vs_lucent``, ``featureviz_inversion``). Prints seconds
per step (medians) and each chunk's time as a fraction of one image at a time (medians of
per-round ratios). It is what ``CPU_CHUNK``, the CPU default, rests on.
"""

from __future__ import annotations

import argparse
import json

import torch

import cnnwidgets as cw
from benchmarks.featureviz_inversion import PHOTOS, ours
from benchmarks.featureviz_vs_lucent import _ours as ours_channels
from benchmarks.timing import time_interleaved
from cnnwidgets.engines.featureviz import activation_match

CHUNKS = (1, 2, 8)


def run(threads: int = 2, rounds: int = 5, steps: int = 3) -> dict:
    torch.set_num_threads(threads)
    model = cw.load_model("efficientnet_lite0")
    inversion = activation_match("_blocks.6", list(PHOTOS))

    # The renders of the two lucent comparisons, so that the settings are defined once.
    def featureviz(chunk):
        return lambda: ours_channels(model, "_blocks.8", range(8), steps, 128, 0, chunk=chunk)

    def invert(chunk):
        return lambda: ours(model, inversion, len(PHOTOS), steps, 128, 0, chunk)

    fns = {}
    for c in CHUNKS:
        fns[f"featureviz_chunk{c}"] = featureviz(c)
        fns[f"inversion_chunk{c}"] = invert(c)
    t = time_interleaved(fns, min_rounds=rounds, max_rounds=rounds, budget_s=0)
    out: dict = {"threads": threads, "rounds": t.rounds, "steps": steps}
    for kind in ("featureviz", "inversion"):
        for c in CHUNKS:
            out[f"{kind}_chunk{c}_s_per_step"] = round(t.median(f"{kind}_chunk{c}") / steps, 3)
            if c != 1:
                out[f"{kind}_chunk{c}_over_chunk1"] = round(
                    t.ratio(f"{kind}_chunk{c}", f"{kind}_chunk1"), 3
                )
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=3, help="optimisation steps per timed render")
    a = p.parse_args(argv)
    print(json.dumps(run(a.threads, a.rounds, a.steps), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

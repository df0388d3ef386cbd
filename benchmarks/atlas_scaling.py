"""Atlas builds across processes: scan throughput, memory per rank, cost of the connections.

    python -m benchmarks.atlas_scaling            # the full set (several minutes)
    python -m benchmarks.atlas_scaling --quick    # smaller numbers, for a smoke run

Every build runs in its own process (ranks under ``torch.distributed.run``), on images made
in memory (smooth random 64-px pictures, a map-style data set, so disk and decoding of files
do not enter). Measured, with ``simple_cnn`` (128-px input) and two layers:

- scan throughput (both passes over the data, merges included) of 2 ranks with one thread
  each against 1 process with 2 threads on the same 2 cores, and their ratio (the scaling
  efficiency; target >= 0.8), plus 1 process with 1 thread for the classic speed-up;
- peak RSS of each rank for 1,000 and 10,000 images (it must stay flat: the trackers have a
  fixed size, and data is read chunk by chunk);
- connections time as a fraction of the build (renders off, the least favourable case), and
  with 256-step renders, whose cost per channel is measured here too;
- the default model (EfficientNet-Lite0, 224-px input) in one process, to extrapolate the
  cost per million images.

The machine is shared: numbers move from run to run; each build runs once.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SIMPLE = dict(model="simple_cnn", layers="conv2.relu,conv3.relu", channels="0-15")
LITE = dict(model="efficientnet_lite0", layers="_blocks.5._act1,_blocks.10._act1", channels="0-15")


class SyntheticImages:
    """``n`` smooth random RGB images of ``side`` px, item ``i`` always the same (seeded by
    ``i``): a map-style data set that costs no disk."""

    def __init__(self, n: int, side: int = 64):
        self.n, self.side = int(n), int(side)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        import numpy as np
        from PIL import Image

        if not 0 <= i < self.n:
            raise IndexError(i)
        rng = np.random.default_rng(i)
        small = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        return {"image": small.resize((self.side, self.side), Image.Resampling.BICUBIC), "id": i}


# ---- one build (runs in a subprocess, alone or as one torchrun rank) ---------------------------
def worker(args) -> None:
    import torch

    import cnnwidgets as cw

    torch.manual_seed(0)
    model = cw.load_model(args.model, device="cpu")
    trace = []  # resident memory during the examples pass, every ~1,000 images

    def progress(event):
        if event["stage"] == "examples" and event["done"] // 1000 > len(trace):
            trace.append(_current_rss_mb())

    t0 = time.perf_counter()
    atlas = cw.build_atlas(
        model,
        args.out,
        args.layers,
        args.channels,
        data=SyntheticImages(args.images),
        steps=args.steps,
        size=args.size,
        batch_size=args.batch_size,
        chunk_size=args.chunk_size,
        progress=progress,
        resume=False,
    )
    wall = time.perf_counter() - t0
    rank = int(os.environ.get("RANK", 0))
    result = {
        "rank": rank,
        "world": int(os.environ.get("WORLD_SIZE", 1)),
        "threads": torch.get_num_threads(),
        "wall_s": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_trace_mb": trace,
        **{k: v for k, v in atlas.report.items()},
    }
    if rank == 0:
        result["phases"] = atlas.index["build"]["phases"]
        result["images"] = atlas.data["images"]
        result["channels"] = sum(len(atlas.channels(layer)) for layer in atlas.layers)
    Path(args.result).with_name(f"{Path(args.result).stem}-{rank}.json").write_text(
        json.dumps(result)
    )


def _current_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_build(
    spec: dict,
    n: int,
    ranks: int,
    threads: int,
    steps: int = 0,
    size: int = 64,
    batch_size: int = 32,
    chunk_size: int = 250,
) -> dict:
    """Run one build in fresh processes; returns rank 0's result with every rank's RSS."""
    with tempfile.TemporaryDirectory(prefix="atlas-bench-") as tmp:
        result = Path(tmp) / "result.json"
        worker_args = [
            "-m",
            "benchmarks.atlas_scaling",
            "worker",
            spec["model"],
            str(Path(tmp) / "atlas"),
            "--layers",
            spec["layers"],
            "--channels",
            spec["channels"],
            "--images",
            str(n),
            "--steps",
            str(steps),
            "--size",
            str(size),
            "--batch-size",
            str(batch_size),
            "--chunk-size",
            str(chunk_size),
            "--result",
            str(result),
        ]
        if ranks > 1:
            cmd = [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--standalone",
                "--nproc_per_node",
                str(ranks),
            ] + worker_args
        else:
            cmd = [sys.executable] + worker_args
        env = {
            **os.environ,
            "OMP_NUM_THREADS": str(threads),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"build failed ({' '.join(cmd)}):\n{r.stdout}\n{r.stderr}")
        results = [json.loads((Path(tmp) / f"result-{k}.json").read_text()) for k in range(ranks)]
        out = results[0]
        out["process_s"] = time.perf_counter() - t0
        out["rss_per_rank_mb"] = [x["peak_rss_mb"] for x in results]
        out["rss_trace_per_rank_mb"] = [x["rss_trace_mb"] for x in results]
        out["ranks"], out["omp_threads"] = ranks, threads
        return out


def render_seconds_per_channel(
    model_name: str, layer: str, steps: int, size: int, threads: int
) -> float:
    """One channel's negative + positive render, timed in a fresh process."""
    code = (
        "import time, torch, cnnwidgets as cw\n"
        f"torch.manual_seed(0); m = cw.load_model({model_name!r}, device='cpu')\n"
        f"scan = cw.pre_activation_layer(m, {layer!r})\n"
        f"cw.visualize(m, [f'-{{scan}}:0', '{layer}:0'], steps=2, size={size}, seed=0)\n"
        "t = time.perf_counter()\n"
        f"cw.visualize(m, [f'-{{scan}}:1', '{layer}:1'], steps={steps}, size={size}, seed=1)\n"
        "print(time.perf_counter() - t)\n"
    )
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    r = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    return float(r.stdout.strip().splitlines()[-1])


# ---- the report ------------------------------------------------------------------------------
def _rate(res: dict) -> float:
    return res["images"] / res["phases"]["scan_s"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.atlas_scaling")
    sub = p.add_subparsers(dest="cmd")
    w = sub.add_parser("worker")
    w.add_argument("model")
    w.add_argument("out")
    w.add_argument("--layers", required=True)
    w.add_argument("--channels", default=None)
    w.add_argument("--images", type=int, required=True)
    w.add_argument("--steps", type=int, default=0)
    w.add_argument("--size", type=int, default=64)
    w.add_argument("--batch-size", type=int, default=32)
    w.add_argument("--chunk-size", type=int, default=250)
    w.add_argument("--result", required=True)
    p.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    p.add_argument(
        "--only", choices=["speed", "memory", "lite"], default=None, help="run one part only"
    )
    args = p.parse_args(argv)
    if args.cmd == "worker":
        worker(args)
        return 0

    n_speed, n_small, n_large, n_lite, rounds = (
        (400, 200, 1000, 32, 1) if args.quick else (1000, 1000, 10000, 256, 3)
    )

    def show(label, res):
        print(
            f"  {label:<36} {res['images']:>6} img  scan {res['phases']['scan_s']:7.1f} s  "
            f"{_rate(res):7.1f} img/s  RSS/rank "
            f"{', '.join(f'{x:.0f}' for x in res['rss_per_rank_mb'])} MB",
            flush=True,
        )

    print(
        f"atlas scaling, simple_cnn, layers {SIMPLE['layers']} (channels {SIMPLE['channels']}), "
        f"{os.cpu_count()} CPUs"
    )
    table = []

    def want(part):
        return args.only in (None, part)

    two = None
    if want("speed"):
        # The three set-ups take turns, in another order each round, so that a burst of load
        # from another process does not land on one of them only; medians over the rounds.
        configs = {
            "1 process x 1 thread": (1, 1),
            "1 process x 2 threads": (1, 2),
            "2 ranks x 1 thread (torchrun)": (2, 1),
        }
        runs: dict[str, list] = {name: [] for name in configs}
        for r in range(rounds):
            names = list(configs)
            names = names[r % 3 :] + names[: r % 3]
            for name in names:
                ranks, threads = configs[name]
                res = run_build(SIMPLE, n_speed, ranks=ranks, threads=threads)
                runs[name].append(res)
                show(f"{name}, round {r + 1}", res)

        def median_run(name):
            ordered = sorted(runs[name], key=_rate)
            return ordered[len(ordered) // 2]

        one_1 = median_run("1 process x 1 thread")
        one_2 = median_run("1 process x 2 threads")
        two = median_run("2 ranks x 1 thread (torchrun)")
        table += [
            ("scan throughput, 1 process x 1 thread", f"{_rate(one_1):.1f} img/s", ""),
            ("scan throughput, 1 process x 2 threads", f"{_rate(one_2):.1f} img/s", ""),
            ("scan throughput, 2 ranks x 1 thread", f"{_rate(two):.1f} img/s", ""),
            (
                "scaling efficiency (2 ranks / 1 process x 2 threads)",
                f"{_rate(two) / _rate(one_2):.2f}",
                ">= 0.8",
            ),
            (
                "speed-up of 2 ranks over 1 process x 1 thread",
                f"{_rate(two) / _rate(one_1):.2f}",
                "",
            ),
            (
                "simple_cnn scan, 2 ranks x 1 thread",
                f"{1e6 / _rate(two) / 3600:.1f} h per million images",
                "",
            ),
        ]
        conn_frac = two["phases"]["connections_s"] / two["wall_s"]
        render_s = render_seconds_per_channel("simple_cnn", "conv3.relu", 256, 128, threads=1)
        build_256 = two["wall_s"] + render_s * two["channels"] / 2  # renders split over 2 ranks
        table += [
            (
                f"connections / build, renders off ({two['channels']} channels, {n_speed} images)",
                f"{conn_frac:.1%}",
                "< 20%",
            ),
            (
                f"connections / build, 256-step renders ({render_s:.2f} s per channel)",
                f"{two['phases']['connections_s'] / build_256:.1%}",
                "< 20%",
            ),
        ]
    if want("memory"):
        small = (
            two
            if two is not None and n_small == n_speed
            else run_build(SIMPLE, n_small, ranks=2, threads=1)
        )
        large = run_build(SIMPLE, n_large, ranks=2, threads=1)
        show(f"2 ranks x 1 thread, {n_large} images", large)
        rss_small, rss_large = max(small["rss_per_rank_mb"]), max(large["rss_per_rank_mb"])
        trace = large["rss_trace_per_rank_mb"][0]
        table += [
            (
                f"peak RSS per rank, {n_small} -> {n_large} images",
                f"{rss_small:.0f} -> {rss_large:.0f} MB "
                f"({(rss_large - rss_small) / rss_small:+.1%})",
                "flat",
            ),
            (
                f"RSS of rank 0 during the examples pass, every 1,000 images (its share of "
                f"{n_large})",
                " ".join(f"{x:.0f}" for x in trace) + " MB",
                "flat",
            ),
        ]
    if want("lite"):
        lite = run_build(LITE, n_lite, ranks=1, threads=2, chunk_size=64)
        show("Lite0 224px, 1 process x 2 threads", lite)
        lite_rate = _rate(lite)
        table += [
            (
                "Lite0 scan, 2 layers x 16 channels, 1 process x 2 threads",
                f"{lite_rate:.1f} img/s = {1e6 / lite_rate / 3600:.0f} h per million images",
                "",
            )
        ]
    print()
    print("| measure | value | target |")
    print("|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")
    print(
        f"\n(throughputs: median of {rounds} interleaved rounds; the other rows one run each; "
        "a shared 2-core machine: expect noise of tens of percent)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

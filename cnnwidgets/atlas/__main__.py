"""Command line for atlases: ``python -m cnnwidgets.atlas MODEL OUT --layers L1,L2 --data DIR``.

The same command runs under torchrun, one rank per process::

    python -m torch.distributed.run --nproc_per_node 2 -m cnnwidgets.atlas MODEL OUT ...

MODEL is a zoo name (``efficientnet_lite0``, ``simple_cnn``, ``resnet18``, ...) or
``package.module:attr`` naming a function that returns a model (a ``cw.Model`` or an
``nn.Module``), or the model itself. DATA is a folder of images, tar shards in WebDataset
format (a folder of .tar files, a .tar path, a glob or ``shard-{000..009}.tar``), or
``imagenette[:split[:size]]``. Run the same command again to resume a killed build.
See docs/atlas.md.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ..models import Model, load_model


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cnnwidgets.atlas",
        description="Build an atlas: feature visualizations, dataset examples and connections "
        "of every channel of some layers, stored in OUT (resumable; runs under "
        "torchrun).",
    )
    p.add_argument(
        "model",
        help="zoo name (e.g. efficientnet_lite0) or module:function returning a Model or nn.Module",
    )
    p.add_argument("out", help="output directory")
    p.add_argument("--layers", required=True, help="comma-separated layer names")
    p.add_argument(
        "--data",
        required=True,
        help="image folder, tar shards (folder, .tar, glob, {000..009} pattern) or "
        "imagenette[:split[:size]]",
    )
    p.add_argument("--channels", default=None, help="e.g. 0-63 or 0-7,12 (default: all)")
    p.add_argument("--steps", type=int, default=256, help="feature-visualization steps (256)")
    p.add_argument("--size", type=int, default=128, help="feature-visualization size in px (128)")
    p.add_argument("--k", type=int, default=9, help="examples per column and connections (9)")
    p.add_argument("--batch-size", type=int, default=32, help="images per batch in scans (32)")
    p.add_argument(
        "--chunk-size",
        type=int,
        default=1024,
        help="images per data chunk, the unit of sharding and checkpoints (1024)",
    )
    p.add_argument("--workers", type=int, default=0, help="threads decoding images (0)")
    p.add_argument("--seed", type=int, default=0, help="base seed of the renders (0)")
    p.add_argument(
        "--device",
        default=None,
        help="cpu, cuda, cuda:1 ... (default: cuda if available; under torchrun cuda:LOCAL_RANK)",
    )
    p.add_argument("--no-negative", action="store_true", help="skip the negative renders")
    p.add_argument(
        "--no-resume", action="store_true", help="start over, deleting an atlas already in OUT"
    )
    p.add_argument(
        "--html",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="also export a static site (default DIR: OUT/html)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def load_model_spec(spec: str, device: str | None):
    """A zoo name, or ``module:attr`` (a callable returning a model, or a model)."""
    import torch

    if ":" in spec and not os.path.exists(spec):
        mod_name, _, attr = spec.partition(":")
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())  # torchrun -m does not put the cwd on the path
        module = importlib.import_module(mod_name)
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
        if callable(obj) and not isinstance(obj, (torch.nn.Module, Model)):
            obj = obj()
        if not isinstance(obj, (torch.nn.Module, Model)):
            raise TypeError(
                f"{spec} gave a {type(obj).__name__}; it must give a Model or an nn.Module"
            )
        return load_model(obj, device=device)
    # Zoo models with random weights (simple_cnn, pretrained=False) must come out the same in
    # every rank and every resumed run.
    torch.manual_seed(0)
    return load_model(spec, device=device)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    from . import AtlasError, build_atlas

    device = args.device
    local = os.environ.get("LOCAL_RANK")
    if device is None and local is not None:
        import torch

        device = f"cuda:{int(local)}" if torch.cuda.is_available() else "cpu"
    rank0 = os.environ.get("RANK", "0") == "0"
    try:
        model = load_model_spec(args.model, device)
        atlas = build_atlas(
            model,
            args.out,
            args.layers,
            args.channels,
            args.data,
            k=args.k,
            steps=args.steps,
            size=args.size,
            negative=not args.no_negative,
            batch_size=args.batch_size,
            resume=not args.no_resume,
            progress=not args.quiet,
            seed=args.seed,
            chunk_size=args.chunk_size,
            workers=args.workers,
        )
        if args.html is not None and rank0:
            where = atlas.export_html(args.html or os.path.join(args.out, "html"))
            print(f"site: {where}")
    except (
        AtlasError,
        ValueError,
        TypeError,
        FileNotFoundError,
        ConnectionError,
        ImportError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    if rank0:
        n = sum(len(atlas.channels(layer)) for layer in atlas.layers)
        print(
            f"atlas: {n} channels of {len(atlas.layers)} layers, {atlas.data['images']} images "
            f"({atlas.data['skipped']} skipped) -> {atlas.path}"
        )
        if atlas.report is None:
            print("already complete: nothing to do")
        else:  # this run's work, all ranks together
            work = atlas.index["build"]["work"]
            print("work done: " + ", ".join(f"{k}={v}" for k, v in work.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

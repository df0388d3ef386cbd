"""Peak memory and time of load_image on huge inputs, before vs after, and whether the result
is the same at the model's input.

    python benchmarks/image_loading.py                      # the working tree only
    python benchmarks/image_loading.py --baseline 5a4b672   # a git revision vs the working tree

Cases: an 8000 x 8000 RGB float32 array, the same as uint8, and an 8000 x 6000 JPEG file,
all made from a photo (scikit-image's astronaut, upscaled, with fine noise so that resampling
differences would show). Each load runs in a fresh process that imports the images module
from its file (the working tree's, or the baseline's from ``git show``), so every version is
measured alike; the time is the fastest of ``--repeat`` loads. Peak memory is the process's
peak resident set (VmHWM, reset through /proc/self/clear_refs just before the call) minus
its resident set before the call: it counts numpy's, PIL's and torch's allocations alike,
but not the input itself.

The comparison resizes both results the way Model.preprocess does (shorter side to 256,
bilinear with antialiasing, centre crop 224) and reports the largest and mean difference in
8-bit levels; it also reports the difference at the loaded size (long side MAX_SIDE).
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CASES = ("float32", "uint8", "jpeg")


def photo(width: int, height: int) -> np.ndarray:
    """A photo-like uint8 RGB array: a real photo upscaled, plus fine noise (0..15 levels)."""
    import skimage
    from PIL import Image

    path = Path(skimage.__file__).parent / "data" / "astronaut.png"
    with Image.open(path) as src:
        big = src.convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
    arr = np.asarray(big).copy()
    del big
    np.minimum(arr, 240, out=arr)
    arr += np.random.default_rng(0).integers(0, 16, arr.shape, dtype=np.uint8)
    return arr


def _status(field: str) -> int:
    """A field of /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def child(module_path: str, case: str, size: int, jpeg: str, out: str, repeat: int) -> None:
    """Run one load in this (fresh) process and print its measurements as JSON."""
    # Named inside cnnwidgets.data, so that its relative imports (..core.errors) resolve
    # against the working tree's package, whichever file is measured.
    spec = importlib.util.spec_from_file_location("cnnwidgets.data._under_test", module_path)
    images = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(images)
    if case == "jpeg":
        source = jpeg
    else:
        source = photo(size, size)
        if case == "float32":
            as_float = source.astype(np.float32)
            del source
            as_float *= np.float32(1 / 255)
            source = as_float
    # Warm up the code paths (imports, PIL plugins) on a small input, so that the peak is the
    # load's and not the first import's.
    images.load_image(np.zeros((8, 8, 3), np.uint8) if case != "jpeg" else jpeg)
    seconds, peak = [], []
    for _ in range(repeat):
        img = None
        # Memory that making the input freed stays with the C allocator, resident: handed out
        # again, it would not show in the peak. Give it back to the system first.
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        before = _status("VmRSS")
        start = time.perf_counter()
        img = images.load_image(source)
        seconds.append(time.perf_counter() - start)
        peak.append(_status("VmHWM") - before)
    img.save(out)
    # The fastest run is the least disturbed by other work on the machine; memory is the
    # same every run.
    seconds, peak = min(seconds), max(peak)
    print(json.dumps({"seconds": seconds, "peak_bytes": peak, "size": list(img.size)}))


def measure(module_path: Path, case: str, size: int, jpeg: Path, out: Path, repeat: int) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            str(module_path),
            case,
            str(size),
            str(jpeg),
            str(out),
            str(repeat),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{case} with {module_path} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def model_input(path: Path) -> np.ndarray:
    """What Model.preprocess makes of a loaded image, before normalisation, in 8-bit levels."""
    import torchvision.transforms.functional as TF
    from PIL import Image
    from torchvision.transforms import InterpolationMode

    with Image.open(path) as img:
        t = TF.pil_to_tensor(img.convert("RGB"))
    t = TF.resize(t, 256, interpolation=InterpolationMode.BILINEAR, antialias=True)
    return TF.center_crop(t, [224, 224]).numpy().astype(np.int16)


def differences(a: Path, b: Path) -> dict:
    from PIL import Image

    with Image.open(a) as ia, Image.open(b) as ib:
        same_size = ia.size == ib.size
        loaded = np.abs(np.asarray(ia, np.int16) - np.asarray(ib, np.int16)) if same_size else None
    model = np.abs(model_input(a) - model_input(b))
    return {
        "same_size": same_size,
        "loaded_max": None if loaded is None else int(loaded.max()),
        "loaded_mean": None if loaded is None else float(loaded.mean()),
        "model_max": int(model.max()),
        "model_mean": float(model.mean()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="a git revision to compare with the working tree")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--size", type=int, default=8000, help="side of the arrays (pixels)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="loads per measurement; the fastest one's time is reported",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        versions = {"after": ROOT / "cnnwidgets" / "data" / "images.py"}
        if args.baseline:
            old = subprocess.run(
                ["git", "show", f"{args.baseline}:cnnwidgets/data/images.py"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            (tmp / "images_before.py").write_text(old)
            versions = {"before": tmp / "images_before.py", **versions}
        jpeg = tmp / "big.jpg"
        if "jpeg" in args.cases:
            from PIL import Image

            Image.fromarray(photo(args.size, args.size * 3 // 4)).save(jpeg, quality=90)
        print(f"{'case':<34}{'version':<8}{'peak MB':>9}{'seconds':>9}  loaded size")
        for case in args.cases:
            label = {
                "float32": f"{args.size}x{args.size}x3 float32 array",
                "uint8": f"{args.size}x{args.size}x3 uint8 array",
                "jpeg": f"{args.size}x{args.size * 3 // 4} JPEG file "
                f"({jpeg.stat().st_size / 1e6:.0f} MB)"
                if jpeg.exists()
                else "",
            }[case]
            outputs = {}
            for version, module_path in versions.items():
                outputs[version] = tmp / f"{case}-{version}.png"
                r = measure(module_path, case, args.size, jpeg, outputs[version], args.repeat)
                print(
                    f"{label:<34}{version:<8}{r['peak_bytes'] / 2**20:>9.0f}"
                    f"{r['seconds']:>9.2f}  {r['size'][0]}x{r['size'][1]}"
                )
            if len(outputs) == 2:
                d = differences(outputs["before"], outputs["after"])
                loaded = (
                    f"at the loaded size max {d['loaded_max']}, mean {d['loaded_mean']:.2f}"
                    if d["same_size"]
                    else "loaded sizes differ"
                )
                print(
                    f"{'':<34}same at the model input (224): max {d['model_max']}, mean "
                    f"{d['model_mean']:.3f} levels; {loaded}"
                )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(
            sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6], int(sys.argv[7])
        )
    else:
        sys.exit(main())

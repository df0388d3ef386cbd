"""Data sources for an atlas: image folders, ImageNette, Datasets, iterables and tar shards.

An atlas scans its data twice (once for each channel's range, once for the examples; see
:mod:`.scan`), splits it across ranks, checkpoints it, and later goes back for the images
of the strongest examples. So every source is cut into numbered *chunks* that can be read
again in the same order:

- an image folder (every image file below it, sorted), a ``Dataset`` (ImageNette, any
  map-style torch data set) or a list: chunks of ``chunk_size`` items by position;
- an iterable that can be iterated more than once (or a function returning a fresh
  iterator): chunks of ``chunk_size`` items as they stream; a one-shot iterator (a
  generator) is refused, since it cannot be read twice;
- tar shards in WebDataset format (a folder of ``.tar`` files, a ``.tar`` path, a glob or
  a brace pattern such as ``train-{000..009}.tar``), read with the optional ``webdataset``
  package: one chunk per shard.

Items are ``(image, id)`` pairs, dicts with an "image" key (and "id"), or bare images (id:
their position). A ``Dataset`` follows torchvision's ``(image, label)`` convention instead,
so its ids are positions. An item that cannot be read or decoded is skipped and counted,
never fatal.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data import datasets
from .errors import EmptyDataError
from .store import digest, plain_id

DEFAULT_CHUNK = 1024
IMAGE_SUFFIXES = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff", "ppm", "pgm", "pbm")


@dataclass
class Item:
    """One item of a chunk: ``local`` (position in the chunk), ``id`` (as far as known before
    reading it) and ``load()`` -> ``(image, id or None)``; ``load`` may raise."""

    local: int
    id: Any
    load: Callable[[], tuple[Any, Any]]


def split_item(item: Any, default_id: Any, dataset_style: bool = False) -> tuple[Any, Any]:
    """An item -> (image, id). Dataset items are ``(image, label)``; others ``(image, id)``."""
    if isinstance(item, dict):
        if "image" not in item:
            raise KeyError(f"dict items need an 'image' key; this one has {sorted(item)}")
        return item["image"], item.get("id", default_id)
    if isinstance(item, tuple) and len(item) >= 2:
        return item[0], (default_id if dataset_style else item[1])
    return item, default_id


class Source:
    """Base class. ``kind`` and ``description`` name the source in the index."""

    kind = "source"
    description = ""
    random_access = False

    def fingerprint(self) -> str:
        """A cheap identity, checked before any work (files, sizes, mtimes; or type and size)."""
        raise NotImplementedError

    def num_chunks(self) -> int | None:
        """The number of chunks, or None when only reading the stream tells."""
        return None

    def chunk_size_hint(self, i: int) -> int | None:
        """Items in chunk ``i`` when known before reading it."""
        return None

    def check_not_empty(self) -> None:
        raise NotImplementedError

    def iter_chunks(self, wanted: Callable[[int], bool]) -> Iterator[tuple[int, Iterator[Item]]]:
        """``(chunk index, items)`` for the chunks ``wanted`` accepts, in order. Each chunk's
        items must be consumed before the next pair is asked for."""
        raise NotImplementedError

    def load_indices(self, indices: Iterable[int], starts: Sequence[int]) -> dict[int, Any]:
        """Images at global positions ``indices`` (``starts``: first position of each chunk)
        -> ``{index: image}``, read chunk by chunk; unreadable ones are left out."""
        import bisect

        want = sorted(set(int(i) for i in indices))
        by_chunk: dict[int, set[int]] = {}
        for g in want:
            c = bisect.bisect_right(starts, g) - 1
            by_chunk.setdefault(c, set()).add(g - starts[c])
        out = {}
        for c, items in self.iter_chunks(lambda c: c in by_chunk):
            need = by_chunk[c]
            for it in items:
                if it.local in need:
                    try:
                        out[starts[c] + it.local] = it.load()[0]
                    except Exception:  # noqa: BLE001 - it was skipped in the scan as well
                        pass
        return out


# ---- position-indexed sources --------------------------------------------------------------------
class IndexedSource(Source):
    """``n`` items reachable by position; chunk ``i`` = positions ``[i*size, (i+1)*size)``."""

    random_access = True

    def __init__(
        self,
        n: int,
        get: Callable[[int], tuple[Any, Any]],
        id_of: Callable[[int], Any],
        chunk_size: int,
        kind: str,
        description: str,
        identity: Any,
    ):
        self.n, self.get, self.id_of = int(n), get, id_of
        self.size = int(chunk_size)
        self.kind, self.description, self._identity = kind, description, identity

    def fingerprint(self) -> str:
        return digest(self.kind, self.n, self._identity)

    def num_chunks(self) -> int:
        return -(-self.n // self.size)

    def chunk_size_hint(self, i: int) -> int:
        return max(0, min(self.size, self.n - i * self.size))

    def check_not_empty(self) -> None:
        if self.n == 0:
            raise EmptyDataError(f"the data source ({self.description}) holds no items")

    def _items(self, i: int) -> Iterator[Item]:
        lo = i * self.size
        for j in range(lo, min(self.n, lo + self.size)):
            yield Item(j - lo, self.id_of(j), (lambda j=j: self.get(j)))

    def iter_chunks(self, wanted):
        for i in range(self.num_chunks()):
            if wanted(i):
                yield i, self._items(i)

    def load_indices(self, indices, starts=None):
        out = {}
        for g in sorted(set(int(i) for i in indices)):
            try:
                out[g] = self.get(g)[0]
            except Exception:  # noqa: BLE001
                pass
        return out


def folder_source(path: str | os.PathLike, chunk_size: int) -> IndexedSource:
    folder = datasets.image_folder(path)  # every image file below, sorted
    root, files = folder.root, list(folder.files)
    rel = [p.relative_to(root).as_posix() for p in files]
    stats = []
    for p, r in zip(files, rel, strict=True):
        st = p.stat()
        stats.append((r, st.st_size, st.st_mtime_ns))
    return IndexedSource(
        len(files),
        lambda j: (files[j], rel[j]),
        lambda j: rel[j],
        chunk_size,
        "folder",
        f"image folder {str(root)!r} ({len(files)} files)",
        stats,
    )


def dataset_source(ds: Any, chunk_size: int, description: str | None = None) -> IndexedSource:
    """A map-style data set: items ``(image, label)`` or dicts. Ids are positions, or relative
    file paths for data sets that list their files as torchvision's do (``samples`` /
    ``_samples`` of ``(path, label)``: ImageFolder, ImageNette), which read better in an atlas."""
    n = len(ds)
    files = _listed_files(ds, n)

    def get(j):
        image, id_ = split_item(ds[j], j, dataset_style=True)
        return image, (files[j] if files is not None and id_ == j else id_)

    identity = [
        type(ds).__module__,
        type(ds).__qualname__,
        n,
        str(getattr(ds, "root", "")),
        str(getattr(ds, "split", "")),
        files[:: max(1, n // 64)] if files else None,
    ]
    desc = description or f"{type(ds).__name__} ({n} items)"
    id_of = (lambda j: files[j]) if files is not None else (lambda j: j)
    return IndexedSource(n, get, id_of, chunk_size, "dataset", desc, identity)


def _listed_files(ds: Any, n: int) -> list[str] | None:
    samples = getattr(ds, "samples", None) or getattr(ds, "_samples", None)
    if not isinstance(samples, (list, tuple)) or len(samples) != n or not samples:
        return None
    if not isinstance(samples[0], (tuple, list)) or not isinstance(
        samples[0][0], (str, os.PathLike)
    ):
        return None
    base = Path(str(getattr(ds, "_image_root", None) or getattr(ds, "root", "") or "/"))
    out = []
    for p, *_ in samples:
        try:
            out.append(Path(p).relative_to(base).as_posix())
        except ValueError:
            out.append(Path(p).as_posix())
    return out


def sequence_source(items: Sequence, chunk_size: int) -> IndexedSource:
    """A list or tuple of ``(image, id)`` pairs, dicts or bare images; or any object with
    ``__len__`` and ``__getitem__`` holding such items (read lazily, by position)."""
    n = len(items)
    materialized = isinstance(items, (list, tuple))

    def get(j):
        return split_item(items[j], j)

    def id_of(j):
        it = items[j]
        if isinstance(it, tuple) and len(it) >= 2:
            return it[1]
        if isinstance(it, dict):
            return it.get("id", j)
        return j

    # Ids stand for the contents: a list is fingerprinted by its length and ids; a lazy
    # sequence by its first ids only (reading them may mean making the images), every chunk's
    # ids being checked again in the examples pass.
    sample = range(n) if materialized else range(min(n, 16))
    identity = [type(items).__qualname__, n, [plain_id(id_of(j)) for j in sample]]
    what = "a list" if materialized else f"a {type(items).__name__}"
    return IndexedSource(n, get, id_of, chunk_size, "sequence", f"{what} of {n} images", identity)


def imagenette_source(
    spec: str, chunk_size: int, root: str | os.PathLike | None = None
) -> IndexedSource:
    """``imagenette[:split[:size]]``, e.g. ``imagenette:val:160px``, via torchvision (downloaded
    into ``root``, default cnnwidgets' cache, the first time)."""
    parts = spec.split(":")
    split = parts[1] if len(parts) > 1 and parts[1] else "val"
    size = parts[2] if len(parts) > 2 and parts[2] else "160px"
    kwargs = {"split": split, "size": size}
    if root is not None:
        kwargs["root"] = root
    ds = datasets.imagenette(**kwargs)
    src = dataset_source(ds, chunk_size, f"ImageNette {split} {size} ({len(ds)} images)")
    src.kind = "imagenette"
    return src


# ---- streams -------------------------------------------------------------------------------------
class StreamSource(Source):
    """Any re-iterable of items, in chunks of ``chunk_size`` as they come."""

    kind = "iterable"

    def __init__(
        self, factory: Callable[[], Iterable], chunk_size: int, description: str, identity: Any
    ):
        self.factory, self.size = factory, int(chunk_size)
        self.description, self._identity = description, identity

    def fingerprint(self) -> str:
        # The ids of the first chunk (read, not decoded); every chunk's ids are checked again
        # when the examples pass reads it.
        ids = []
        for j, obj in enumerate(self.factory()):
            if j >= self.size:
                break
            ids.append(plain_id(_stream_id(obj, j)))
        return digest(self.kind, self._identity, ids)

    def check_not_empty(self) -> None:
        for _ in self.factory():
            return
        raise EmptyDataError(f"the data source ({self.description}) yields no items")

    def iter_chunks(self, wanted):
        it = iter(self.factory())
        i = 0
        while True:
            items = []
            for _ in range(self.size):
                try:
                    items.append(next(it))
                except StopIteration:
                    break
            if not items:
                return
            if wanted(i):
                base = i * self.size
                yield (
                    i,
                    (
                        Item(
                            j,
                            _stream_id(obj, base + j),
                            (lambda obj=obj, g=base + j: split_item(obj, g)),
                        )
                        for j, obj in enumerate(items)
                    ),
                )
            if len(items) < self.size:
                return
            i += 1


def _stream_id(obj: Any, default: int) -> Any:
    if isinstance(obj, tuple) and len(obj) >= 2:
        return obj[1]
    if isinstance(obj, dict):
        return obj.get("id", default)
    return default


# ---- WebDataset shards ---------------------------------------------------------------------------
def _webdataset():
    try:
        import webdataset
    except ImportError:
        raise ImportError(
            "reading tar shards needs the optional package 'webdataset': "
            "pip install webdataset (or pip install 'cnnwidgets[atlas]')"
        ) from None
    return webdataset


def expand_shards(spec: str | os.PathLike | Sequence) -> list[str]:
    """A folder of .tar files, a .tar path, a glob, a brace pattern, or a list of those."""
    if isinstance(spec, (list, tuple)):
        return [u for s in spec for u in expand_shards(s)]
    s = os.fspath(spec)
    p = Path(s).expanduser()
    if p.is_dir():
        found = sorted(str(q) for q in p.rglob("*.tar"))
    elif "{" in s and ".." in s:
        from braceexpand import braceexpand

        found = [str(Path(u).expanduser()) for u in braceexpand(s)]
    elif any(ch in s for ch in "*?["):
        found = sorted(glob.glob(str(p)))
    else:
        found = [str(p)]
    missing = [u for u in found if not Path(u).is_file()]
    if missing:
        raise FileNotFoundError(
            f"no shard file {missing[0]!r}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    if not found:
        raise FileNotFoundError(f"no .tar shards in {s!r}")
    return found


class ShardSource(Source):
    """Tar shards in WebDataset format, one chunk per shard, samples in file order.

    The image of a sample is its first entry with an image suffix (jpg, png, webp, ...); its
    id is ``<shard name>/<key>``. A sample without an image, or whose image does not decode,
    is skipped; so is a broken tar member (counted, without an id).
    """

    kind = "webdataset"

    def __init__(self, urls: Sequence[str]):
        _webdataset()
        self.urls = list(urls)
        self.description = f"{len(self.urls)} WebDataset shards ({Path(self.urls[0]).name}" + (
            f" .. {Path(self.urls[-1]).name})" if len(self.urls) > 1 else ")"
        )
        self.broken = 0  # tar-level errors seen (no sample to name)

    def fingerprint(self) -> str:
        stats = [(u, os.stat(u).st_size, os.stat(u).st_mtime_ns) for u in self.urls]
        return digest(self.kind, stats)

    def num_chunks(self) -> int:
        return len(self.urls)

    def check_not_empty(self) -> None:
        if not self.urls:
            raise EmptyDataError("no shards given")

    def _samples(self, url: str) -> Iterator[dict]:
        wds = _webdataset()

        def handler(exc):
            self.broken += 1
            return True  # skip it and read on

        ds = wds.WebDataset(
            [url],
            shardshuffle=False,
            nodesplitter=None,
            workersplitter=None,
            empty_check=False,
            handler=handler,
        )
        return iter(ds)

    def iter_chunks(self, wanted):
        for i, url in enumerate(self.urls):
            if not wanted(i):
                continue
            name = Path(url).name
            yield (
                i,
                (
                    Item(j, f"{name}/{s.get('__key__')}", (lambda s=s: (_sample_image(s), None)))
                    for j, s in enumerate(self._samples(url))
                ),
            )


def _sample_image(sample: dict) -> bytes:
    for key in sample:
        if key.rsplit(".", 1)[-1].lower() in IMAGE_SUFFIXES:
            return sample[key]
    raise ValueError(
        f"sample {sample.get('__key__')!r} has no image entry "
        f"(entries: {', '.join(k for k in sample if not k.startswith('__'))})"
    )


# ---- any data -> a source ------------------------------------------------------------------------
def as_source(data: Any, chunk_size: int = DEFAULT_CHUNK) -> Source:
    """Turn what a user passes as ``data`` into a :class:`Source` (see the module docstring)."""
    if isinstance(data, Source):
        return data
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    from torch.utils.data import DataLoader, Dataset, IterableDataset

    if isinstance(data, (str, os.PathLike)):
        s = os.fspath(data)
        if s.split(":")[0].lower() == "imagenette" and not Path(s).exists():
            return imagenette_source(s, chunk_size)
        p = Path(s).expanduser()
        if p.is_dir():
            try:
                return folder_source(p, chunk_size)
            except FileNotFoundError:
                if any(p.rglob("*.tar")):
                    return ShardSource(expand_shards(p))
                raise EmptyDataError(f"no image files and no .tar shards in {str(p)!r}") from None
        if s.endswith(".tar") or ("{" in s and ".." in s) or any(ch in s for ch in "*?["):
            return ShardSource(expand_shards(s))
        if not p.exists():
            raise FileNotFoundError(
                f"no data folder, shard or pattern {s!r} (for ImageNette "
                "say 'imagenette' or 'imagenette:val:160px')"
            )
        raise ValueError(
            f"{s!r} is a file; data must be a folder of images, tar shards, or 'imagenette'"
        )
    if isinstance(data, DataLoader):
        raise TypeError(
            "pass the DataLoader's dataset (data=loader.dataset): the atlas batches, "
            "shards and re-reads the data itself"
        )
    if (
        isinstance(data, Dataset)
        and not isinstance(data, IterableDataset)
        and hasattr(data, "__len__")
    ):
        return dataset_source(data, chunk_size)
    if isinstance(data, (list, tuple)):
        if data and all(
            isinstance(x, (str, os.PathLike)) and os.fspath(x).endswith(".tar") for x in data
        ):
            return ShardSource(expand_shards(list(data)))
        return sequence_source(data, chunk_size)
    if hasattr(data, "__len__") and hasattr(data, "__getitem__") and not isinstance(data, dict):
        return sequence_source(data, chunk_size)
    if callable(data):
        name = getattr(data, "__qualname__", type(data).__name__)
        return StreamSource(data, chunk_size, f"the iterable returned by {name}()", name)
    if hasattr(data, "__iter__"):
        if iter(data) is data:
            raise TypeError(
                "data is a one-shot iterator (a generator?): an atlas reads its data "
                "more than once. Pass a list, a Dataset, or a function that returns "
                "a fresh iterator"
            )
        return StreamSource(
            lambda: iter(data),
            chunk_size,
            f"an iterable {type(data).__name__}",
            type(data).__qualname__,
        )
    raise TypeError(
        f"cannot read images from a {type(data).__name__}: pass a folder, tar shards, "
        "'imagenette', a Dataset, a list or re-iterable of (image, id) pairs"
    )


# ---- decoding ------------------------------------------------------------------------------------
def decode_items(
    items: Iterable[Item], transform: Callable[[Any], Any], workers: int = 0, window: int = 64
) -> Iterator[tuple[Item, Any, Any, str | None]]:
    """``(item, tensor or None, id, error or None)`` in item order.

    ``transform``: image -> model input tensor (it reads paths, bytes, PIL images, arrays).
    ``workers`` > 0 decodes in that many threads (PIL and the resize release the GIL),
    ``window`` items ahead at most, so memory stays bounded.
    """

    def work(it: Item):
        try:
            image, id_ = it.load()
            x = transform(image)
            return it, x, (it.id if id_ is None else id_), None
        except Exception as exc:  # noqa: BLE001 - one bad image must not end a long build
            return it, None, it.id, f"{type(exc).__name__}: {exc}"

    if workers <= 0:
        for it in items:
            yield work(it)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending = []
        for it in items:
            pending.append(pool.submit(work, it))
            if len(pending) >= window:
                yield pending.pop(0).result()
        for f in pending:
            yield f.result()

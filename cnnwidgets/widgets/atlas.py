"""AtlasViewer: browse a built atlas (``cw.build_atlas``) as OpenAI Microscope does, without the
model: a layer's channels as a grid of thumbnails, a channel's six-column Distill figure and
its strongest inputs, each a link to that input's page."""

from __future__ import annotations

import bisect
import difflib
import io
import math
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from traitlets import Dict, Int, List, Unicode

from ..atlas import load_atlas
from ..render import to_jpeg
from ..render.images import figure_png
from .base import OUTPUT_TRAITS, CNNWidget, Debouncer, bundle, readable

# Sizes chosen so that the whole widget fits a 1280 x 720 lecture screen: a page of 16 x 6
# thumbnails of 64 px is 1058 x 398 px; a channel page is the figure (at most 5 rows of
# examples, about 620 x 650 px, shown at most 540 px high) beside a column of connections.
PAGE_SIZE = 96
NCOLS = 16
TILE = 64
CONNECTION_TILE = 56
MAX_ROWS = 5
FIGURE_DPI = 100
JPEG_QUALITY = 92  # the figure's text stays crisp
MAX_PAGE_SIZE = 512
HISTORY = 100  # visited places kept for Back
# Least-recently-used caches, so that paging back and forth or returning to a channel is
# instant; the bounds keep a long browse of a big atlas at a few tens of MB.
GRID_CACHE = 8
FIGURE_CACHE = 16
THUMB_CACHE = 256

GRID = -1  # `channel` when the layer's grid is shown


def _as_atlas(atlas: Any):
    if isinstance(atlas, (str, os.PathLike)):
        return load_atlas(atlas)
    needed = ("layers", "channels", "channel", "has_channel", "sprite", "thumbnail", "previous")
    missing = [name for name in needed if not hasattr(atlas, name)]
    if missing:
        raise TypeError(
            "AtlasViewer shows an atlas: pass cw.load_atlas(path), the result of "
            f"cw.build_atlas, or the atlas directory itself, not a {type(atlas).__name__}"
        )
    return atlas


class _LRU(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get_or_make(self, key: Any, make: Callable[[], Any]) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        while len(self) > self.size:
            self.popitem(last=False)
        return value


class AtlasViewer(CNNWidget):
    """Browse an atlas: ``AtlasViewer(atlas, layer=None, channel=None, page_size=96)``.

    ``atlas``: what ``cw.build_atlas`` or ``cw.load_atlas`` return, or the atlas directory.
    No model is needed: every picture comes from the files of the atlas.

    - ``layer`` (picker), ``channel`` (-1: the layer's grid), ``page`` / ``page_max`` /
      ``page_size``: the grid shows one page of thumbnails at a time, and only that page's
      pictures are read and sent, so a layer of thousands of channels opens as fast as one of
      ten. A click on a thumbnail opens that channel.
    - ``view``: the grid (JPEG), or the channel's six-column figure (negative optimized,
      minimum, slightly negative, slightly positive, maximum, positive optimized; PNG, or
      JPEG when that is smaller), ``rows`` examples per column (default: up to 5).
    - ``connections``: the channel's strongest inputs from the previous atlas layer (layer,
      channel, weight, a thumbnail); a click opens that input's page.
    - ``search``: a channel number of the current layer, ``layer:channel``, or a layer name;
      an unknown one sets ``error``, naming the closest.
    - Left / right arrow keys: the previous / next channel (on the grid: page); Back
      (:meth:`back`) returns to the place before, ``history`` holds the places visited.

    From Python: ``goto(layer, channel)``, ``back()``, ``step(+1 / -1)``, or set the traits.
    """

    _esm = bundle("atlas_viewer")
    _outputs = OUTPUT_TRAITS | {"connections_title"}

    layer = Unicode(help="the layer shown").tag(sync=True)
    layer_options = List(help="[label, layer] pairs for the picker").tag(sync=True)
    channel = Int(GRID, help="the channel whose page is shown; -1: the layer's grid").tag(sync=True)
    page = Int(0, help="the page of the grid (0-based)").tag(sync=True)
    page_max = Int(0, help="the last page of the layer's grid").tag(sync=True)
    page_size = Int(PAGE_SIZE, help="thumbnails per page").tag(sync=True)
    search = Unicode("", help='"12", "layer:12" or a layer name; Enter goes there').tag(sync=True)
    history = List(help="[layer, channel] of the places visited, oldest first").tag(sync=True)
    grid_layout = Dict(help="ncols, nrows and the channel of each tile, for clicks").tag(sync=True)
    connections = List(help="inputs of the channel: layer, channel, weight, png").tag(sync=True)
    connections_title = Unicode("").tag(sync=True)
    caption = Unicode("").tag(sync=True)

    def __init__(
        self,
        atlas: Any,
        layer: str | None = None,
        channel: int | None = None,
        *,
        page_size: int = PAGE_SIZE,
        ncols: int = NCOLS,
        tile: int = TILE,
        rows: int | None = None,
        **kwargs: Any,
    ):
        self.atlas = _as_atlas(atlas)
        layers = self.atlas.layers
        if not layers:
            raise ValueError("this atlas has no layers")
        if int(ncols) < 1 or int(tile) < 8:
            raise ValueError(f"ncols must be >= 1 and tile >= 8 pixels, got {ncols}, {tile}")
        self.ncols, self.tile = int(ncols), int(tile)
        k = int(getattr(self.atlas, "settings", {}).get("k", MAX_ROWS))
        #: examples per column in the figure (the atlas may hold more; see the caption)
        self.rows = int(rows) if rows is not None else max(1, min(k, MAX_ROWS))
        if self.rows < 1:
            raise ValueError(f"rows must be at least 1, got {rows}")
        self._k = k
        self._chans: dict[str, list[int]] = {}
        self._pos: dict[str, dict[int, int]] = {}
        self._grids = _LRU(GRID_CACHE)
        self._figures = _LRU(FIGURE_CACHE)
        self._thumbs = _LRU(THUMB_CACHE)
        self._moving = False
        layer = layers[0] if layer is None else layer
        start = GRID if channel is None else int(channel)
        self._check(layer, start)
        super().__init__(
            layer=layer,
            layer_options=[[f"{n} ({len(self._channels(n))} channels)", n] for n in layers],
            channel=start,
            page_size=self._valid_page_size(page_size),
            **kwargs,
        )
        self._here = (layer, start)
        self._place(layer, start, page=0)
        self._redraw = Debouncer(
            self._draw_in_background, self.debounce_s, name="cnnwidgets-AtlasViewer-draw"
        )
        self._debouncers.append(self._redraw)  # flush() and close() reach it
        self.observe(self._on_layer, "layer")
        self.observe(self._on_channel, "channel")
        self.observe(self._on_page, "page")
        self.observe(self._on_page_size, "page_size")
        self.observe(self._on_search, "search")
        # Synchronous once, so that a saved notebook (and a test) has the picture at once.
        self.attempt(self._draw)

    # ---- the atlas's channels ------------------------------------------------------------------
    def _channels(self, layer: str) -> list[int]:
        if layer not in self._chans:
            self._chans[layer] = self.atlas.channels(layer)
        return self._chans[layer]

    def _position(self, layer: str, c: int) -> int:
        if layer not in self._pos:
            self._pos[layer] = {ch: i for i, ch in enumerate(self._channels(layer))}
        return self._pos[layer][c]

    def _check(self, layer: str, c: int) -> None:
        """Raise a readable error, naming the closest, for a place not in the atlas."""
        if layer not in self.atlas.layers:
            close = difflib.get_close_matches(layer, self.atlas.layers, n=3, cutoff=0.3)
            raise ValueError(
                f"no layer {layer!r} in this atlas; "
                + (f"closest: {', '.join(close)}" if close else f"it has {self._layers_text()}")
            )
        if c != GRID and not self.atlas.has_channel(layer, c):
            chans = sorted(self._channels(layer))
            i = bisect.bisect_left(chans, c)
            close = chans[max(0, i - 1) : i + 1]  # the neighbours below and above
            raise ValueError(
                f"channel {c} of {layer!r} is not in this atlas ({len(chans)} channels, "
                f"{chans[0]}..{chans[-1]}); closest: {', '.join(map(str, close))}"
            )

    def _layers_text(self) -> str:
        return ", ".join(self.atlas.layers)

    def _valid_page_size(self, n: int) -> int:
        n = int(n)
        if not 1 <= n <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must lie in 1..{MAX_PAGE_SIZE}, got {n}")
        return n

    # ---- navigation -----------------------------------------------------------------------------
    def _place(self, layer: str, c: int, page: int | None = None) -> None:
        """Set the traits of a place (the observers stay quiet)."""
        n = len(self._channels(layer))
        page_max = max(0, math.ceil(n / self.page_size) - 1)
        if c != GRID:
            page = self._position(layer, c) // self.page_size
        elif page is None:
            # Back to the grid of the same layer: the page that holds the channel just seen.
            page = self.page if layer == self.layer else 0
        self._page = min(max(int(page), 0), page_max)
        self._moving = True
        try:
            with self.hold_trait_notifications():
                self.layer, self.channel = layer, c
                self.page_max = page_max
                self.page = self._page
        finally:
            self._moving = False

    def _go(self, layer: str, c: int, *, page: int | None = None, remember: bool = True) -> None:
        """Move to (layer, c) - c = -1 for the grid - checked first; a move is remembered for
        Back, and the picture follows (debounced: a burst of arrow keys draws once)."""
        self._check(layer, c)
        if remember and (layer, c) != self._here:
            self.history = (self.history + [list(self._here)])[-HISTORY:]
        self._place(layer, c, page)
        self._here = (layer, c)
        self.error = ""
        self._redraw()

    def _undo(self) -> None:
        """Put the traits back on the current place (after a refused change)."""
        layer, c = self._here
        self._place(layer, c, self._page)

    def _guarded(self, move: Callable[[], None]) -> None:
        try:
            move()
        except Exception as exc:  # noqa: BLE001 - shown in the widget
            self._undo()
            self.error = readable(exc)

    def _on_layer(self, change: dict) -> None:
        if not self._moving:
            self._guarded(lambda: self._go(change["new"], GRID, page=0))

    def _on_channel(self, change: dict) -> None:
        if not self._moving:
            self._guarded(lambda: self._go(self._here[0], int(change["new"])))

    def _on_page(self, change: dict) -> None:
        if self._moving:
            return
        page = int(change["new"])

        def move():
            if not 0 <= page <= self.page_max:
                raise ValueError(
                    f"page {page} is out of range: {self.layer!r} has pages 0..{self.page_max}"
                )
            self._go(self._here[0], GRID, page=page)

        self._guarded(move)

    def _on_page_size(self, change: dict) -> None:
        if self._moving:
            return
        layer, c = self._here
        first = self._page * int(change["old"])  # keeps the first channel shown in view
        try:
            self._valid_page_size(change["new"])
        except Exception as exc:  # noqa: BLE001 - shown in the widget
            self._moving = True
            self.page_size = int(change["old"])
            self._moving = False
            self.error = readable(exc)
            return
        self._place(layer, c, first // int(change["new"]))
        self.error = ""
        self._redraw()

    def _on_search(self, change: dict) -> None:
        if self._moving or not change["new"].strip():
            return
        try:
            layer, c = self._parse(change["new"])
            self._go(layer, c, page=0 if c == GRID else None)
        except Exception as exc:  # noqa: BLE001 - shown in the widget; the text stays to fix
            self.error = readable(exc)
            return
        self._moving = True
        self.search = ""  # done: the same text can be searched again
        self._moving = False

    def _parse(self, text: str) -> tuple[str, int]:
        t = text.strip()
        layer, sep, tail = t.rpartition(":")
        number = t if _is_int(t) else tail if sep and _is_int(tail) else None
        if number is not None:
            if int(number) < 0:
                raise ValueError(f"channels are numbered from 0, not {int(number)}")
            return (layer.strip() if sep else self._here[0]), int(number)
        if sep and not tail.strip():
            return layer.strip(), GRID
        if t in self.atlas.layers:
            return t, GRID
        close = difflib.get_close_matches(t, self.atlas.layers, n=3, cutoff=0.3)
        raise ValueError(
            f"cannot find {t!r}: type a channel number (12), layer:channel "
            f"({self.atlas.layers[-1]}:12) or a layer name"
            + (f"; closest layers: {', '.join(close)}" if close else "")
        )

    # ---- public moves (the front end's buttons and keys call these too) -------------------------
    def goto(self, layer: str, channel: int | None = None) -> bool:
        """Go to a channel's page (or, with ``channel=None``, the layer's grid). Returns False,
        with the reason in ``error``, when the atlas has no such place."""
        return self.attempt(self._go, layer, GRID if channel is None else int(channel))

    def back(self) -> bool:
        """Return to the place before the last move; False when there is none."""
        if not self.history:
            return False
        *rest, (layer, c) = self.history
        self._go(layer, int(c), remember=False)
        self.history = rest
        return True

    def step(self, delta: int) -> None:
        """The next (``delta`` > 0) or previous channel of the layer; on the grid, page.
        Stops at the ends."""
        layer, c = self._here
        if c == GRID:
            page = min(max(self.page + int(delta), 0), self.page_max)
            if page != self.page:
                self._go(layer, GRID, page=page)
            return
        chans = self._channels(layer)
        i = min(max(self._position(layer, c) + int(delta), 0), len(chans) - 1)
        if chans[i] != c:
            self._go(layer, chans[i])

    def _action_step(self, content: dict, buffers: list) -> None:
        self.step(int(content.get("delta", 0)))

    def _action_back(self, content: dict, buffers: list) -> None:
        self.back()

    def _action_grid(self, content: dict, buffers: list) -> None:
        self._go(self._here[0], GRID)

    def _action_navigate(self, content: dict, buffers: list) -> None:
        self._go(str(content["layer"]), int(content["channel"]))

    # ---- pictures -------------------------------------------------------------------------------
    def _state(self) -> tuple:
        return (*self._here, self.page, self.page_size)

    def _draw_in_background(self) -> None:
        # Not `attempt`: a failed draw shows its error, but a successful one must not clear an
        # error from the search box that arrived meanwhile.
        self.busy = True
        try:
            self._draw()
        except Exception as exc:  # noqa: BLE001 - shown in the widget
            self.error = readable(exc)
        finally:
            self.busy = False

    def _draw(self) -> None:
        state = self._state()
        layer, c, page, size = state
        if c == GRID:
            view, layout, caption = self._grid(layer, page, size)
            conns, title = [], ""
        else:
            view, caption = self._figure(layer, c)
            layout = {}
            conns, title = self._connections(layer, c)
        if self._state() != state:
            return  # moved on meanwhile: the draw queued by that move shows the new place
        with self.hold_sync():
            self.view, self.grid_layout, self.caption = view, layout, caption
            self.connections, self.connections_title = conns, title

    def _grid(self, layer: str, page: int, size: int) -> tuple[bytes, dict, str]:
        chans = self._channels(layer)
        shown = chans[page * size : (page + 1) * size]

        def make():
            ncols = min(self.ncols, len(shown))
            sheet = self.atlas.sprite(layer, shown, tile=self.tile, ncols=ncols)
            # JPEG: feature visualizations are noise-like and would make a PNG page ~1 MB.
            return to_jpeg(sheet, quality=85), {
                "ncols": ncols,
                "nrows": math.ceil(len(shown) / ncols),
                "channels": list(shown),
            }

        view, layout = self._grids.get_or_make((layer, page, size), make)
        lo = page * size
        caption = (
            f"{layer}: channels {shown[0]}–{shown[-1]} ({lo + 1}–{lo + len(shown)} of "
            f"{len(chans)}) · page {page + 1} of {self.page_max + 1} · click a channel for its "
            "page; ← → turn pages"
        )
        return view, layout, caption

    def _figure(self, layer: str, c: int) -> tuple[bytes, str]:
        ch = self.atlas.channel(layer, c)

        def make():
            return _compact(figure_png(ch.figure(rows=self.rows, tile=1.0), dpi=FIGURE_DPI))

        view = self._figures.get_or_make((layer, c, self.rows), make)
        chans = self._channels(layer)
        scanned = self.atlas.scanned_layer(layer)
        parts = [f"{layer} : channel {c} ({self._position(layer, c) + 1} of {len(chans)})"]
        if scanned != layer:
            parts.append(f"negative side from {scanned} (pre-activation)")
        images = getattr(self.atlas, "data", {}).get("images")
        if images is not None:
            parts.append(f"examples from {images:,} images")
        if self.rows < self._k:
            parts.append(f"{self.rows} of {self._k} per column shown")
        parts.append("← → channels")
        return view, " · ".join(parts)

    def _connections(self, layer: str, c: int) -> tuple[list[dict], str]:
        previous = self.atlas.previous(layer)
        if previous is None:
            return [], "first layer of the atlas: no inputs recorded"
        conns = self.atlas.channel(layer, c).connections
        if not conns:
            return [], f"no inputs from {previous}"
        out = []
        for x in conns:
            known = self.atlas.has_channel(x.layer, x.channel)
            png = (
                self._thumbs.get_or_make(
                    (x.layer, x.channel),
                    lambda x=x: self.atlas.thumbnail(x.layer, x.channel, size=CONNECTION_TILE),
                )
                if known
                else b""
            )
            out.append(
                {"layer": x.layer, "channel": int(x.channel), "weight": float(x.weight), "png": png}
            )
        return out, f"strongest inputs from {previous} (+ excites, − inhibits)"

    # ---- lifetime -------------------------------------------------------------------------------
    def close(self) -> None:
        super().close()  # stops the draw first, so no draw refills the caches
        for cache in ("_grids", "_figures", "_thumbs"):
            if hasattr(self, cache):
                getattr(self, cache).clear()


def _compact(png: bytes) -> bytes:
    """The smaller of the PNG and a JPEG of it. Example crops and visualizations are
    photo-like: as JPEG a figure is about a third of the PNG (200 -> 65 kB for Lite0, 620 ->
    150 kB for noisy renders), and each click sends one; a figure of flat colours stays PNG."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        jpeg = to_jpeg(np.asarray(im.convert("RGB")), quality=JPEG_QUALITY)
    return jpeg if len(jpeg) < len(png) else png


def _is_int(text: str) -> bool:
    return re.fullmatch(r"-?\d+", text.strip()) is not None

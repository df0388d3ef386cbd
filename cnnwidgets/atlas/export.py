"""A static HTML site of an atlas: opens from ``file://``, no kernel, no network.

``index.html`` lists the layers; ``layers/<layer>.html`` shows every channel's positive
visualization in a grid; ``channels/<layer>/<c>.html`` shows the six-column figure of
Distill's "Feature Visualization" (negative optimized, minimum, slightly negative, slightly
positive, maximum, positive optimized) and the channel's strongest inputs from the previous
layer, each a link to that channel's page. CSS is inline, links are relative, the pictures
are copied next to the pages (the example crops stay one sprite per channel, cut by CSS),
so the folder can be zipped, moved or served as it is.

Elements carry ``data-testid`` attributes (``layer-link``, ``channel-grid``,
``channel-link``, ``channel-title``, ``figure``, ``connection-link``) for browser tests.
"""

from __future__ import annotations

import html
import os
import shutil
from pathlib import Path

from ..render.distill import COLUMN_TITLES, NEGATIVE_COLOR, POSITIVE_COLOR
from .store import safe_name, write_bytes

TILE = 96  # displayed size of every picture in a channel figure, CSS pixels
THUMB = 112  # displayed size of a grid thumbnail

CSS = f"""
* {{box-sizing: border-box}}
body {{font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0; color: #222; background: #fafafa}}
header, main, nav {{max-width: 1180px; margin: 0 auto; padding: 0 20px}}
header {{padding-top: 18px}}
h1 {{font-size: 22px; margin: 6px 0}}
h2 {{font-size: 16px; margin: 22px 0 8px}}
nav {{padding-top: 12px; color: #666}}
a {{color: #3b6fb6}}
nav a {{text-decoration: none}}
.meta {{color: #666; margin: 0 0 14px}}
.layers {{list-style: none; padding: 0}}
.layers li {{background: #fff; border: 1px solid #e3e3e3; border-radius: 6px;
             margin: 0 0 10px; padding: 10px 14px}}
.layers .name {{font-weight: 600; font-size: 15px}}
.layers img {{width: 48px; height: 48px; margin: 6px 4px 0 0; border-radius: 3px}}
.grid {{display: grid; grid-template-columns: repeat(auto-fill, minmax({THUMB}px, 1fr));
        gap: 10px; margin: 10px 0 30px}}
.cell {{display: block; text-decoration: none; color: #444; background: #fff;
        border: 1px solid #e3e3e3; border-radius: 6px; padding: 6px; text-align: center}}
.cell:hover {{border-color: #3b6fb6}}
.cell img, .conns img {{width: 100%; aspect-ratio: 1; display: block; border-radius: 3px}}
.figure {{display: grid; grid-template-columns: repeat(3, {TILE}px) 14px repeat(3, {TILE}px);
          column-gap: 8px; margin: 12px 0}}
.col h3 {{font-size: 11px; font-weight: 600; line-height: 1.2; height: 56px; margin: 0 0 6px;
          white-space: pre-line}}
.col.neg h3 {{color: {NEGATIVE_COLOR}}}
.col.pos h3 {{color: {POSITIVE_COLOR}}}
.tile {{width: {TILE}px; height: {TILE}px; border-radius: 3px; background-repeat: no-repeat;
        image-rendering: pixelated; background-color: #eee}}
.opt img {{width: {TILE}px; height: {TILE}px; border-radius: 3px; display: block}}
.ex {{margin: 0 0 6px}}
.val {{font-size: 11px; color: #666; text-align: center}}
.none {{width: {TILE}px; height: {TILE}px; background: #f0f0f0; color: #999; font-size: 11px;
        display: flex; align-items: center; justify-content: center; border-radius: 3px}}
.conns {{list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 10px}}
.conns li {{background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; padding: 6px;
            text-align: center; width: {THUMB}px}}
.w.pos {{color: {POSITIVE_COLOR}}}
.w.neg {{color: {NEGATIVE_COLOR}}}
.pager {{float: right}}
"""


def _page(title: str, body: str) -> bytes:
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    ).encode()


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _slugs(layers: list[str]) -> dict[str, str]:
    out, used = {}, set()
    for name in layers:
        s, n = safe_name(name), 1
        while s in used:  # two names that differ only in unsafe characters
            n += 1
            s = f"{safe_name(name)}-{n}"
        used.add(s)
        out[name] = s
    return out


def export_html(atlas, out_dir: str | os.PathLike) -> Path:
    """Write the site of ``atlas`` into ``out_dir``; returns the path of ``index.html``."""
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    slugs = _slugs(atlas.layers)
    model = atlas.model.get("name", "model")
    data = atlas.data
    settings = atlas.settings

    # pictures
    for layer in atlas.layers:
        for c in atlas.channels(layer):
            src = atlas.layout.channel_dir(layer, c)
            dst = out / "img" / slugs[layer] / str(c)
            dst.mkdir(parents=True, exist_ok=True)
            for name in ("positive.png", "negative.png", "examples.png"):
                if (src / name).exists():
                    shutil.copyfile(src / name, dst / name)

    # index
    items = []
    for layer in atlas.layers:
        chans = atlas.channels(layer)
        thumbs = "".join(
            f'<img src="img/{slugs[layer]}/{c}/positive.png" alt="">' for c in chans[:12]
        )
        scanned = atlas.scanned_layer(layer)
        note = f" &middot; examples from <code>{_e(scanned)}</code>" if scanned != layer else ""
        items.append(
            f'<li><a class="name" data-testid="layer-link" '
            f'href="layers/{slugs[layer]}.html">{_e(layer)}</a> &middot; '
            f"{len(chans)} channels{note}<br>{thumbs}</li>"
        )
    body = (
        f"<header><h1>Atlas of {_e(model)}</h1>"
        f'<p class="meta">{len(atlas.layers)} layers &middot; dataset examples from '
        f"{_e(data.get('images'))} images ({_e(data.get('description'))}) &middot; "
        f"feature visualizations: {_e(settings.get('steps'))} steps at "
        f"{_e(settings.get('size'))} px</p></header>\n"
        f'<main><ul class="layers" data-testid="layers">{"".join(items)}</ul></main>'
    )
    write_bytes(out / "index.html", _page(f"Atlas of {model}", body))

    # one grid per layer
    for layer in atlas.layers:
        s = slugs[layer]
        cells = "".join(
            f'<a class="cell" data-testid="channel-link" data-channel="{c}" '
            f'href="../channels/{s}/{c}.html"><img src="../img/{s}/{c}/positive.png" '
            f'alt="{_e(layer)} channel {c}" loading="lazy"><span>{c}</span></a>'
            for c in atlas.channels(layer)
        )
        body = (
            f'<nav><a href="../index.html">{_e(model)}</a> &rsaquo; {_e(layer)}</nav>'
            f'<header><h1>{_e(layer)}</h1><p class="meta">{len(atlas.channels(layer))} '
            f"channels; click one for its examples and inputs</p></header>"
            f'<main><div class="grid" data-testid="channel-grid">{cells}</div></main>'
        )
        write_bytes(out / "layers" / f"{s}.html", _page(f"{layer} - {model}", body))

    # one page per channel
    for layer in atlas.layers:
        chans = atlas.channels(layer)
        for pos, c in enumerate(chans):
            page = _channel_page(
                atlas,
                layer,
                c,
                slugs,
                model,
                chans[pos - 1] if pos > 0 else None,
                chans[pos + 1] if pos + 1 < len(chans) else None,
            )
            write_bytes(out / "channels" / slugs[layer] / f"{c}.html", page)
    return out / "index.html"


def _channel_page(atlas, layer: str, c: int, slugs: dict, model: str, prev_c, next_c) -> bytes:
    from .examples import read_example_meta

    s = slugs[layer]
    ch = atlas.channel(layer, c)
    meta = read_example_meta(atlas.layout, layer, c)
    p, k = meta["crop_px"], meta["k"]
    scale = TILE / p
    img = f"../../img/{s}/{c}"

    cols = []
    for key, title in COLUMN_TITLES:
        side = "neg" if key in ("negative_optimized", "min", "slightly_negative") else "pos"
        head = f"<h3>{_e(title.strip())}</h3>"
        if key in ("negative_optimized", "positive_optimized"):
            name = "negative.png" if key == "negative_optimized" else "positive.png"
            if (atlas.layout.channel_dir(layer, c) / name).exists():
                cell = f'<div class="opt"><img src="{img}/{name}" alt="{_e(key)}"></div>'
            else:
                cell = '<div class="none">none</div>'
            cols.append(f'<div class="col {side}" data-column="{key}">{head}{cell}</div>')
            continue
        row = ["min", "slightly_negative", "slightly_positive", "max"].index(key)
        tiles = []
        for i, e in enumerate(meta["columns"][key]):
            style = (
                f"background-image:url('{img}/examples.png');"
                f"background-size:{k * p * scale:.2f}px {4 * p * scale:.2f}px;"
                f"background-position:-{i * p * scale:.2f}px -{row * p * scale:.2f}px"
            )
            tiles.append(
                f'<div class="ex" title="{_e(e["image_id"])}"><div class="tile" '
                f'style="{style}"></div><div class="val">{e["value"]:.3g}</div></div>'
            )
        cells = "".join(tiles) or '<div class="none">none</div>'
        cols.append(f'<div class="col {side}" data-column="{key}">{head}{cells}</div>')
        if key == "slightly_negative":
            cols.append("<div></div>")  # the gutter between the two halves

    conns = ch.connections
    if conns:
        ps = slugs[conns[0].layer]
        items = "".join(
            f'<li><a data-testid="connection-link" data-channel="{x.channel}" '
            f'href="../{ps}/{x.channel}.html"><img src="../../img/{ps}/{x.channel}/positive.png" '
            f'alt="{_e(x.layer)} channel {x.channel}">{_e(x.layer)}:{x.channel}</a><br>'
            f'<span class="w {"pos" if x.weight > 0 else "neg"}">{x.weight:+.3g}</span></li>'
            for x in conns
        )
        conn_html = (
            f"<h2>Strongest inputs from {_e(conns[0].layer)}</h2>"
            f'<p class="meta">mean activation &times; gradient over the maximum examples; '
            f'<span class="w pos">excites</span> / <span class="w neg">inhibits</span></p>'
            f'<ul class="conns" data-testid="connections">{items}</ul>'
        )
    elif atlas.previous(layer) is not None:
        conn_html = f'<h2>Inputs</h2><p class="meta">no input from {_e(atlas.previous(layer))}</p>'
    else:
        conn_html = ""

    pager = []
    if prev_c is not None:
        pager.append(f'<a href="{prev_c}.html">&lsaquo; {prev_c}</a>')
    if next_c is not None:
        pager.append(f'<a href="{next_c}.html">{next_c} &rsaquo;</a>')
    scanned = atlas.scanned_layer(layer)
    note = (
        f"examples and negative image from <code>{_e(scanned)}</code> (pre-activation)"
        if scanned != layer
        else ""
    )
    body = (
        f'<nav><a href="../../index.html">{_e(model)}</a> &rsaquo; '
        f'<a href="../../layers/{s}.html">{_e(layer)}</a> &rsaquo; channel {c}'
        f'<span class="pager">{" &middot; ".join(pager)}</span></nav>'
        f'<header><h1 data-testid="channel-title">{_e(layer)} : channel {c}</h1>'
        f'<p class="meta">{note}</p></header>'
        f'<main><div class="figure" data-testid="figure">{"".join(cols)}</div>'
        f"{conn_html}</main>"
    )
    return _page(f"{layer}:{c} - {model}", body)

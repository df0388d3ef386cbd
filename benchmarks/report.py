"""Rows of the results table, the targets each row is held to, and the Markdown rendering."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .agreement import Agreement


@dataclass
class Target:
    name: str  # e.g. "ours/peer <= 0.4"
    value: float
    limit: float
    higher_is_better: bool = False

    @property
    def met(self) -> bool:
        if not math.isfinite(self.value):
            return False
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def __str__(self) -> str:
        return f"{self.name}: {self.value:.2f} {'met' if self.met else 'MISSED'}"


@dataclass
class Row:
    comparison: str
    model: str
    setting: str
    peer_name: str = ""
    ours: float = float("nan")  # seconds, median
    peer: float = float("nan")
    ratio: float = float("nan")  # ours / peer, paired by round
    fwd: float = float("nan")  # bare inference forward on the same batch
    fwd_bwd: float = float("nan")  # bare forward + backward to the input
    ours_fwd: float = float("nan")  # ours / fwd, paired by round
    rounds: int = 0
    agreement: Agreement | None = None
    targets: list[Target] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        """Agreement held (timing targets are reported, not enforced)."""
        return self.agreement is None or self.agreement.ok


def fmt_time(s: float) -> str:
    if not math.isfinite(s):
        return "-"
    if s >= 10:
        return f"{s:.1f} s"
    if s >= 1:
        return f"{s:.2f} s"
    return f"{s * 1e3:.3g} ms"


def fmt_ratio(r: float) -> str:
    return f"{r:.2f}" if math.isfinite(r) else "-"


HEADER = (
    "| Comparison | Model | Setting | ours | peer | ours/peer | fwd | fwd+bwd | ours/fwd "
    "| rounds | agreement | targets |"
)


def markdown(rows: list[Row]) -> str:
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    for r in rows:
        peer = (
            f"{fmt_time(r.peer)} ({r.peer_name})"
            if r.peer_name and math.isfinite(r.peer)
            else fmt_time(r.peer)
        )
        agree = str(r.agreement) if r.agreement is not None else "-"
        targets = "; ".join(str(t) for t in r.targets) or "-"
        if r.note:
            targets = f"{targets} ({r.note})" if r.targets else r.note
        lines.append(
            f"| {r.comparison} | {r.model} | {r.setting} | {fmt_time(r.ours)} | {peer} | "
            f"{fmt_ratio(r.ratio)} | {fmt_time(r.fwd)} | {fmt_time(r.fwd_bwd)} | "
            f"{fmt_ratio(r.ours_fwd)} | {r.rounds or '-'} | {agree} | {targets} |"
        )
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    met = [(r, t) for r in rows for t in r.targets if t.met]
    missed = [(r, t) for r in rows for t in r.targets if not t.met]
    disagree = [r for r in rows if not r.ok]
    out = [
        f"targets met: {len(met)}, missed: {len(missed)}; "
        f"rows whose outputs disagree: {len(disagree)}"
    ]
    for r, t in missed:
        out.append(f"  MISSED  {r.comparison} / {r.model} / {r.setting}: {t}")
    for r in disagree:
        out.append(f"  DISAGREE  {r.comparison} / {r.model} / {r.setting}: {r.agreement}")
    return "\n".join(out)

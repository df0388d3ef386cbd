"""Do ours and the peer compute the same thing? Correlation and maximum difference.

A pair agrees when the Pearson correlation is at least ``min_corr`` or every value is within
``atol + rtol * max|peer|`` of the peer's (float tolerance): the correlation alone would pass a
map that is right in shape but wrong in scale, the tolerance alone fails maps that differ only
by an upsampling convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_CORR = 0.99


@dataclass
class Agreement:
    corr: float
    max_diff: float
    scale: float  # max |peer|, what max_diff is relative to
    ok: bool
    how: str = ""  # what was compared, for the table

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "DISAGREE"
        rel = self.max_diff / self.scale if self.scale > 0 else float("nan")
        text = f"r={self.corr:.4f}, max|d|={rel:.1e} rel ({verdict})"
        return f"{text}; {self.how}" if self.how else text


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    da, db = a - a.mean(), b - b.mean()
    den = np.sqrt((da * da).sum() * (db * db).sum())
    if den == 0:
        # Correlation is undefined for a constant map: two agree only when they are equal.
        return 1.0 if np.allclose(a, b) else 0.0
    return float((da * db).sum() / den)


def compare(
    ours, peer, *, min_corr: float = MIN_CORR, rtol: float = 1e-4, atol: float = 1e-6, how: str = ""
) -> Agreement:
    ours = np.asarray(ours, dtype=np.float64)
    peer = np.asarray(peer, dtype=np.float64)
    if ours.shape != peer.shape:
        raise ValueError(f"cannot compare shapes {ours.shape} and {peer.shape}")
    if not (np.isfinite(ours).all() and np.isfinite(peer).all()):
        return Agreement(float("nan"), float("inf"), 0.0, False, how + " (non-finite values)")
    scale = float(np.abs(peer).max())
    diff = float(np.abs(ours - peer).max())
    corr = pearson(ours, peer)
    ok = corr >= min_corr or diff <= atol + rtol * scale
    return Agreement(corr, diff, scale, bool(ok), how)


def compare_each(ours: list, peer: list, **kw) -> Agreement:
    """Agreement of a batch: every image must agree; reports the worst one."""
    results = [compare(o, p, **kw) for o, p in zip(ours, peer, strict=True)]
    worst = min(results, key=lambda a: (a.ok, a.corr if np.isfinite(a.corr) else -2))
    return worst

"""The columns of dataset examples: fixed-size top-k tables per channel, and the one merge of
candidates (from a new batch, or from another tracker) into the four columns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

COLUMNS = ("min", "slightly_negative", "slightly_positive", "max")


class Column:
    """A fixed-size table per channel: rank-ordered values, ids, positions, and crop slots."""

    def __init__(self, channels: int, size: int, crop_shape: tuple, device):
        self.size = size
        self.val = torch.zeros(channels, size, device=device)
        self.seq = torch.full((channels, size), -1, dtype=torch.long, device=device)
        self.pos = torch.zeros(channels, size, 2, dtype=torch.long, device=device)
        # slot[c, r]: where the crop of the rank-r entry lives; crops never move when ranks do.
        self.slot = torch.arange(size, device=device).repeat(channels, 1)
        self.crop = torch.zeros(channels, size, *crop_shape, dtype=torch.uint8, device=device)

    def tensors(self) -> dict[str, torch.Tensor]:
        return {
            "val": self.val,
            "seq": self.seq,
            "pos": self.pos,
            "slot": self.slot,
            "crop": self.crop,
        }

    def valid(self) -> torch.Tensor:
        return self.seq >= 0

    def select(
        self,
        key_old: torch.Tensor,
        val: torch.Tensor,
        seq: torch.Tensor,
        pos: torch.Tensor,
        key_new: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Keep the ``size`` entries with the smallest key among the column and the candidates.

        ``key_*`` is +inf for empty entries and for candidates that do not qualify; ties go to
        the smaller ``seq`` (the image seen first). Candidates are (channels, n). Returns the
        (channel, candidate) indices of the candidates that entered, in the order of the slots
        they were given (so the caller fills ``crop[channel, slot]`` for them).
        """
        C, K = self.seq.shape
        keys = torch.cat([key_old, key_new], 1)
        seqs = torch.cat([torch.where(self.valid(), self.seq, -1), seq], 1)
        by_seq = seqs.argsort(dim=1, stable=True)
        order = by_seq.gather(1, keys.gather(1, by_seq).argsort(dim=1, stable=True))[:, :K]
        kept_key = keys.gather(1, order)
        from_old = order < K
        old_i = order.clamp(max=K - 1)
        new_i = (order - K).clamp(min=0)
        n = val.shape[1]
        cand = torch.arange(C, device=val.device)[:, None] * n + new_i  # flat candidate index

        def pick(old, new):
            o = (
                old.gather(1, old_i)
                if old.ndim == 2
                else old.gather(1, old_i[..., None].expand(-1, -1, old.shape[-1]))
            )
            nw = new.reshape(C * n, *new.shape[2:])[cand]
            mask = from_old if old.ndim == 2 else from_old[..., None]
            return torch.where(mask, o, nw)

        new_val, new_seq, new_pos = pick(self.val, val), pick(self.seq, seq), pick(self.pos, pos)
        # Old entries that were pushed out give their crop slots to the candidates that came in;
        # both lists are taken row by row, and each row has as many of one as of the other.
        kept_old = torch.zeros(C, K, dtype=torch.bool, device=val.device)
        rows = torch.arange(C, device=val.device)[:, None].expand(C, K)
        kept_old[rows[from_old], order[from_old]] = True
        entered = ~from_old
        slot = self.slot.gather(1, old_i)
        slot[entered] = self.slot[~kept_old]
        new_seq = torch.where(torch.isfinite(kept_key), new_seq, -1)
        self.val, self.seq, self.pos, self.slot = new_val, new_seq, new_pos, slot
        # Entries that entered without qualifying (key inf: empty filler) need no crop.
        fill = entered & torch.isfinite(kept_key)
        ch = torch.arange(C, device=val.device)[:, None].expand(C, K)
        return ch[fill], new_i[fill], slot[fill]


@dataclass
class Side:
    """Candidates for one side of the columns, (channels, n) each: ``val`` the value (an
    image's spatial max for the positive side, its min for the negative side), ``seq`` the
    image's place in the stream, ``pos`` (channels, n, 2) where it occurs, ``ok`` which
    candidates are real, ``crop(ch, ci, pos)`` the crops of the candidates that entered."""

    val: torch.Tensor
    seq: torch.Tensor
    pos: torch.Tensor
    ok: torch.Tensor
    crop: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def merge_into(
    cols: dict[str, Column],
    top: Side,
    bottom: Side,
    targets: Callable[[], dict[str, torch.Tensor]],
) -> None:
    """Merge candidates into the four columns: max and min first, so that the relative slight
    targets (``targets()``, read after) already include these candidates."""
    inf = torch.tensor(float("inf"), device=top.val.device)
    for name, side, sign in (("max", top, -1), ("min", bottom, 1)):
        col = cols[name]
        key_old = torch.where(col.valid(), sign * col.val, inf)
        key = torch.where(side.ok, sign * side.val, inf)
        ch, ci, slot = col.select(key_old, side.val, side.seq, side.pos, key)
        if len(ch):
            col.crop[ch, slot] = side.crop(ch, ci, side.pos)
    t = targets()
    for name, side, which, good in (
        ("slightly_positive", top, "positive", top.val > 0),
        ("slightly_negative", bottom, "negative", bottom.val < 0),
    ):
        col = cols[name]
        tt = t[which][:, None]
        key_old = torch.where(col.valid(), (col.val - tt).abs(), inf)
        key_old = torch.where(torch.isnan(key_old), inf, key_old)
        key = torch.where(side.ok & good, (side.val - tt).abs(), inf)
        key = torch.where(torch.isnan(key), inf, key)
        ch, ci, slot = col.select(key_old, side.val, side.seq, side.pos, key)
        if len(ch):
            col.crop[ch, slot] = side.crop(ch, ci, side.pos)

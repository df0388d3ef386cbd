"""A channel's strongest inputs from the previous atlas layer (the Circuits view of a unit).

For channel ``c`` of an atlas layer and each of its maximum-activation examples ``n``, take
the channel's value ``a_n`` at the example's position (in the scanned layer, as in the
examples) and the previous atlas layer's output ``P_n``. Input channel ``j`` contributes

    w_j = mean_n  sum_{y,x}  P_n[j, y, x] * d a_n / d P_n[j, y, x]

(activation x gradient, summed over positions, averaged over the examples). The ``k``
channels of the previous atlas layer with the largest ``|w_j|`` are kept, with their sign:
positive ones excite the channel on the images that excite it most, negative ones inhibit
it. Only the previous layer's atlas channels are ranked, so that every connection links to
a page of the atlas.

Each channel's examples form one batch of their own, so the result does not depend on
which rank computes it or on what else it computes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .forward import leaf_and_target


def channel_connections(
    model,
    previous: str,
    previous_channels: Sequence[int],
    scan: str,
    channel: int,
    x: torch.Tensor,
    positions: Sequence[tuple[int, int]],
    k: int,
) -> list[dict]:
    """``[{"channel", "weight"}, ...]``, strongest first, at most ``k``; ``x`` holds the
    example images (model input), ``positions`` where each one's maximum lies."""
    if len(x) == 0:
        return []
    leaf, out = leaf_and_target(model, previous, scan, x)
    n = torch.arange(len(x), device=out.device)
    ys = torch.tensor([p[0] for p in positions], device=out.device)
    xs = torch.tensor([p[1] for p in positions], device=out.device)
    target = out[n, channel, ys, xs].sum()
    (grad,) = torch.autograd.grad(target, leaf, allow_unused=True)
    if grad is None:  # the previous layer does not feed this one (a parallel branch)
        return []
    w = (leaf.detach() * grad).double().sum(dim=(2, 3)).mean(0)  # (C_prev,)
    chans = torch.as_tensor(list(previous_channels), device=w.device)
    w = w[chans].cpu()
    # strongest first; ties by channel number, so the order is reproducible
    order = sorted(range(len(w)), key=lambda i: (-abs(float(w[i])), int(chans[i])))
    return [
        {"channel": int(chans[i]), "weight": float(w[i])} for i in order[:k] if float(w[i]) != 0.0
    ]


def example_inputs(
    load: Callable[[list[int]], dict[int, torch.Tensor]], examples: list
) -> tuple[torch.Tensor | None, list[tuple[int, int]]]:
    """The model inputs and positions of ``examples`` (``(index, position)`` pairs) whose
    images can still be read."""
    got = load([g for g, _ in examples])
    rows = [(got[g], pos) for g, pos in examples if g in got]
    if not rows:
        return None, []
    return torch.stack([r[0] for r in rows]), [r[1] for r in rows]

"""Small masked/grouped tensor helpers shared by the loss parts (torch only, no optkit.rl imports)."""

from __future__ import annotations

import torch

from optkit.core.errors import InvalidParameterError, UnknownNameError, suggest


def check_group_size(group_size: int, batch: int, owner: str = "group method") -> int:
    """Validate ``group_size`` (>= 2, divides the batch) and return the number of groups."""
    if not isinstance(group_size, int) or isinstance(group_size, bool) or group_size < 2:
        raise InvalidParameterError(
            f"The 'group_size' of {owner} must be an int >= 2 (a group needs at least two responses). Got {group_size!r} instead."
        )
    if batch % group_size != 0:
        raise InvalidParameterError(
            f"The batch of {owner} has {batch} rows, which is not a multiple of 'group_size'={group_size}; groups must be whole."
        )
    return batch // group_size


def grouped(x: torch.Tensor, group_size: int, owner: str = "group method") -> torch.Tensor:
    """View a (B, ...) tensor as (P, G, ...) for contiguous groups."""
    p = check_group_size(group_size, x.shape[0], owner)
    return x.reshape(p, group_size, *x.shape[1:])


def group_mean_std(rewards: torch.Tensor, group_size: int, ddof: int = 1, owner: str = "group method"):
    """Per-row group mean and std (ddof as torch.std's correction), each broadcast back to (B,)."""
    g = grouped(rewards, group_size, owner)
    mean = g.mean(dim=1, keepdim=True).expand_as(g)
    std = g.std(dim=1, correction=ddof, keepdim=True).expand_as(g)
    return mean.reshape(-1), std.reshape(-1)


def lengths_of(mask: torch.Tensor) -> torch.Tensor:
    """Response lengths (B,) as float from a (B, T) mask."""
    return mask.sum(dim=1)


def seq_sum(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked sum over tokens, (B, T) -> (B,)."""
    return (x * mask).sum(dim=1)


def seq_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean over tokens, (B, T) -> (B,); empty rows give 0."""
    return (x * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean over all entries (scalar); an all-zero mask gives 0."""
    return (x * mask).sum() / mask.sum().clamp_min(1.0)


def masked_whiten(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8, shift_mean: bool = True) -> torch.Tensor:
    """Whiten x over the masked entries (mean 0, unit variance with the unbiased variance)."""
    n = mask.sum().clamp_min(1.0)
    mean = (x * mask).sum() / n
    var = (((x - mean) ** 2) * mask).sum() / (n - 1.0).clamp_min(1.0)
    out = (x - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        out = out + mean
    return out * mask


def to_tokens(adv: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Broadcast a (B,) advantage to (B, T); (B, T) passes through; masked."""
    if adv.dim() == 1:
        adv = adv[:, None].expand_as(mask)
    return adv * mask


def f(x) -> float:
    """A tensor (or number) as a Python float for metrics."""
    if isinstance(x, torch.Tensor):
        return float(x.detach().float().mean()) if x.numel() else 0.0
    return float(x)


def part(table: dict, name, knob: str):
    """``table[name]`` or an UnknownNameError naming the knob and the closest names."""
    try:
        return table[name]
    except (KeyError, TypeError):
        hint = suggest(name, table) if isinstance(name, str) else ""
        raise UnknownNameError(f"The {knob!r} knob must be one of {sorted(table)}. Got {name!r} instead.{hint}") from None

"""Batch containers shared by the RL losses, presets and trainer (the fixed rl interface).

``Rollouts`` holds G sampled responses for each of P prompts (B = P * G rows, groups contiguous);
``PreferencePairs`` holds B (chosen, rejected) pairs; every loss returns a ``LossOutput``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Rollouts:
    """G responses for each of P prompts, B = P * G rows, groups contiguous (rows g*G .. g*G+G-1)."""

    logp: torch.Tensor  # (B, T) log-prob of each sampled response token, CURRENT policy (requires grad)
    old_logp: torch.Tensor  # (B, T) same tokens under the behaviour policy that sampled them (no grad)
    mask: torch.Tensor  # (B, T) float, 1.0 on real response tokens, 0.0 on padding
    rewards: torch.Tensor  # (B,) float scalar reward per response; (B, K) for multi-objective presets
    group: torch.Tensor  # (B,) long, group (prompt) index 0..P-1
    group_size: int  # G
    ref_logp: torch.Tensor | None = None  # (B, T) under the frozen reference policy (no grad)
    entropy: torch.Tensor | None = None  # (B, T) exact entropy of the current next-token distribution
    values: torch.Tensor | None = None  # (B, T) critic values (PPO with GAE), current critic (grad)
    old_values: torch.Tensor | None = None  # (B, T) critic values at sampling time (no grad)
    correct: torch.Tensor | None = None  # (B,) bool, verifier outcome (for presets that switch on it)
    token_logits_entropy_cov: None = None  # (unused; presets compute what they need from the fields above)
    # extra per-row info presets may need:
    lengths: torch.Tensor | None = None  # (B,) long response lengths (= mask.sum(1))
    max_length: int | None = None  # the task's maximum response length (overlong shaping)
    step: int = 0  # trainer step (for schedules)


@dataclass
class PreferencePairs:
    """B preference pairs (chosen, rejected) for the same prompt."""

    chosen_logp: torch.Tensor  # (B, T) per-token log-probs of the chosen response, current policy (grad)
    rejected_logp: torch.Tensor  # (B, T) same for the rejected response
    chosen_mask: torch.Tensor  # (B, T) float
    rejected_mask: torch.Tensor  # (B, T) float
    ref_chosen_logp: torch.Tensor | None = None  # (B, T) reference policy (no grad); None if reference-free
    ref_rejected_logp: torch.Tensor | None = None
    chosen_reward: torch.Tensor | None = None  # (B,) scalar scores where a loss uses them (offset DPO, MaPPO)
    rejected_reward: torch.Tensor | None = None


@dataclass
class LossOutput:
    """A scalar loss to minimize and a dict of float metrics."""

    loss: torch.Tensor  # scalar, to be minimized (backward() on it)
    metrics: dict  # str -> float (clip fractions, kl estimates, advantage stats, ...)

"""The policy-optimization testbed: GRPO/PPO/DPO-family objectives on tiny policies and verifiable tasks.

* :mod:`optkit.rl.policies`: :class:`TabularPolicy` (bandits) and :class:`TinyGPT` (a small decoder-only
  transformer with a KV cache, temperature and top-p sampling, an optional value head);
* :mod:`optkit.rl.tasks`: the tasks with verifiable rewards (bandit, copy/reverse, sort, addition, parity,
  count-to-target, Countdown), each with a train/test split;
* :mod:`optkit.rl.reference`: the supervised warm start (the reference policy) and policy files;
* :mod:`optkit.rl.prefix`: the shared-prefix forward (a group's prompt encoded once);
* :mod:`optkit.rl.batch`, :mod:`optkit.rl.losses`, :mod:`optkit.rl.presets`: the loss zoo and its named presets;
* :mod:`optkit.rl.trainer`: one :class:`Trainer` for every preset, with exact entropy/KL metrics;
* :mod:`optkit.rl.runner`: the method comparison behind ``optkit bench rl``.

These modules import torch (the ``rl`` extra); ``import optkit`` does not import them, and neither does
``import optkit.rl``: the names below load their module on first use.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "TabularPolicy": "policies", "TinyGPT": "policies", "pad_left": "policies",
    "make_task": "tasks", "TASKS": "tasks", "VOCAB": "tasks",
    "make_policy": "reference", "warm_start": "reference", "reference_policy": "reference",
    "save_policy": "reference", "load_policy": "reference",
    "Trainer": "trainer", "plot_history": "trainer",
    "pass_at_k": "metrics", "maj_at_k": "metrics", "evaluate": "metrics",
    "compare": "runner", "run_one": "runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"optkit.rl.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'optkit.rl' has no attribute {name!r}")

"""The supervised warm start: the reference policy that RL starts from.

:func:`warm_start` trains a policy by cross-entropy on correct demonstrations of the task's train split
and stops once its greedy accuracy on the held-out test set reaches ``aim`` inside ``band`` (default
band 20-60 %, aim its middle, 40 %: most groups are non-degenerate and pass@k has headroom). When one
evaluation interval jumps past the band, training goes back to the snapshot taken before that interval
and goes on with evaluations four times as frequent (at most three times). The step count and the accuracy are returned so the band is
reproducible.

:func:`save_policy` / :func:`load_policy` store a policy as a small ``.npz`` file: its weights as arrays
and its constructor arguments as a JSON string (``allow_pickle=False``: no Python objects are stored).
:func:`reference_policy` returns a warm-started policy from memory, or from ``cache_dir`` when one is
given (the file name hashes the task and the settings).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from optkit.core.errors import InvalidParameterError, StateError
from optkit.rl.metrics import evaluate
from optkit.rl.policies import TabularPolicy, TinyGPT, pad_left

__all__ = ["make_policy", "sft_loss", "warm_start", "save_policy", "load_policy", "reference_policy"]


def make_policy(task, *, d_model: int = 64, n_layers: int = 2, n_heads: int = 4, value_head: bool = False,
                seed: int = 0):
    """A fresh policy sized for ``task``: a :class:`TabularPolicy` for the bandit, else a :class:`TinyGPT`
    with ``max_len`` = longest prompt + the task's ``max_new_tokens``."""
    if task.name == "bandit":
        return TabularPolicy(task.n_contexts, task.n_actions, value_head=value_head)
    longest = max(len(p.prompt) for p in task.sample(np.random.default_rng(0), 256))
    return TinyGPT(task.vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                   max_len=longest + task.max_new_tokens + 4, value_head=value_head, seed=seed)


def _demo_batch(task, problems):
    prompts, pmask = pad_left([p.prompt for p in problems], task.pad_id)
    demos = [task.demonstration(p) for p in problems]
    width = max(len(d) for d in demos)
    resp = torch.full((len(demos), width), task.pad_id, dtype=torch.long)
    mask = torch.zeros(len(demos), width)
    for i, d in enumerate(demos):
        resp[i, :len(d)] = torch.as_tensor(d)
        mask[i, :len(d)] = 1.0
    return prompts, pmask, resp, mask


def sft_loss(policy, task, problems) -> torch.Tensor:
    """Mean token cross-entropy of the demonstrations of ``problems`` under ``policy``."""
    prompts, pmask, resp, mask = _demo_batch(task, problems)
    logits, _ = policy.response_logits(prompts, pmask, resp, num_samples=1)
    nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), resp.reshape(-1), reduction="none")
    return (nll * mask.reshape(-1)).sum() / mask.sum()


def warm_start(task, policy=None, *, band=(0.2, 0.6), aim: float | None = None, max_steps: int = 4000,
               batch_size: int = 64, lr: float = 1e-3, eval_every: int = 100, eval_size: int = 200, seed: int = 0,
               model_options: dict | None = None):
    """Supervised warm start until the greedy held-out accuracy reaches ``aim`` (default: the middle of
    ``band``) without leaving ``band``.

    Returns ``(policy, info)``; ``info``: ``steps``, ``test_accuracy``, ``in_band`` (False when
    ``max_steps`` ran out below the band, or the band was overshot after every refinement and no
    evaluation had landed in it), ``band``, ``seconds``. When ``aim`` is not reached, the last evaluated
    state inside the band is returned, if there was one.
    """
    import time

    lo, hi = (float(b) for b in band)
    if not 0.0 <= lo <= hi <= 1.0:
        raise InvalidParameterError(f"band must be (low, high) with 0 <= low <= high <= 1; got {band!r}")
    aim = (lo + hi) / 2 if aim is None else float(aim)
    if not lo <= aim <= hi:
        raise InvalidParameterError(f"aim must lie in band {band!r}; got {aim!r}")
    for name, v in (("max_steps", max_steps), ("batch_size", batch_size), ("eval_every", eval_every),
                    ("eval_size", eval_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InvalidParameterError(f"{name} must be an int >= 1; got {v!r}")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise InvalidParameterError(f"lr must be a float > 0; got {lr!r}")
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    policy = policy if policy is not None else make_policy(task, seed=seed, **(model_options or {}))
    rng = np.random.default_rng(seed)
    test = task.test_set(eval_size)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    snapshot = (copy.deepcopy(policy.state_dict()), copy.deepcopy(opt.state_dict()), 0)
    acc, step, refinements, in_band = evaluate(policy, task, test)["accuracy"], 0, 0, None
    while not (aim <= acc <= hi) and step < max_steps:
        if acc > hi:  # one interval jumped past the band: back to its start, evaluate 4x as often
            if refinements == 3 or snapshot[2] == step:
                break
            policy.load_state_dict(snapshot[0])
            opt.load_state_dict(snapshot[1])
            step, eval_every, refinements = snapshot[2], max(1, eval_every // 4), refinements + 1
        snapshot = (copy.deepcopy(policy.state_dict()), copy.deepcopy(opt.state_dict()), step)
        for _ in range(min(eval_every, max_steps - step)):
            loss = sft_loss(policy, task, task.sample(rng, batch_size, "train"))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        acc = evaluate(policy, task, test)["accuracy"]
        if lo <= acc <= hi:
            in_band = (copy.deepcopy(policy.state_dict()), acc, step)
    if not (lo <= acc <= hi) and in_band is not None:
        policy.load_state_dict(in_band[0])
        acc, step = in_band[1], in_band[2]
    info = {"steps": step, "test_accuracy": acc, "in_band": lo <= acc <= hi, "band": [lo, hi],
            "seconds": time.perf_counter() - t0, "eval_size": len(test)}
    return policy, info


def save_policy(policy, path, info: dict | None = None) -> Path:
    """Write ``policy`` (weights + constructor arguments + ``info``) to ``path`` (``.npz``)."""
    path = Path(path)
    arrays = {f"w/{k}": v.detach().cpu().numpy() for k, v in policy.state_dict().items()}
    meta = json.dumps({"config": policy.config(), "info": info or {}})
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, __meta__=np.array(meta), **arrays)
    return path


def load_policy(path):
    """``(policy, info)`` from a file written by :func:`save_policy`."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            state = {k[2:]: torch.from_numpy(np.array(data[k])) for k in data.files if k.startswith("w/")}
    except (OSError, KeyError, ValueError) as exc:
        raise StateError(f"load_policy: {path!s} is not a policy file written by save_policy ({exc})") from None
    cfg = dict(meta["config"])
    kind = cfg.pop("kind", None)
    if kind == "tabular":
        policy = TabularPolicy(cfg["n_contexts"], cfg["n_actions"], value_head=cfg.get("value_head", False))
    elif kind == "tinygpt":
        policy = TinyGPT(cfg.pop("vocab_size"), **cfg)
    else:
        raise StateError(f"load_policy: unknown policy kind {kind!r} in {path!s}")
    policy.load_state_dict(state)
    return policy, meta.get("info", {})


_MEMORY: dict[str, tuple] = {}


def reference_policy(task, *, cache_dir=None, **options):
    """A warm-started reference policy for ``task`` (``options`` go to :func:`warm_start`), trained once per
    process (kept in memory) or once per ``cache_dir`` (a small ``.npz`` there). Returns ``(policy, info)``;
    the caller gets its own copy."""
    key_src = json.dumps({"task": task.name, "task_cfg": {k: v for k, v in vars(task).items()
                                                          if isinstance(v, (int, float, str, bool))},
                          "options": options}, sort_keys=True, default=str)
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    if key not in _MEMORY:
        file = Path(cache_dir).expanduser() / f"rl-reference-{task.name}-{key}.npz" if cache_dir is not None else None
        if file is not None and file.exists():
            _MEMORY[key] = load_policy(file)
        else:
            policy, info = warm_start(task, **options)
            if file is not None:
                save_policy(policy, file, info)
            _MEMORY[key] = (policy, info)
    policy, info = _MEMORY[key]
    return copy.deepcopy(policy), dict(info)

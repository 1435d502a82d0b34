"""What the learned optimizers of this family share: per-coordinate features, a tiny MLP, weight files.

Features (one row per coordinate ``i`` of the parameter vector, step ``t`` counted from 1)::

    m_k <- b_k m_k + (1 - b_k) g          b_k in MOMENTUM_DECAYS = (0.5, 0.9, 0.99)
    v   <- c v + (1 - c) g^2              c = RMS_DECAY = 0.999
    m_hat_k = m_k / (1 - b_k^t),  v_hat = v / (1 - c^t)             (bias corrections, as Adam's)

    normalized columns   g, m_hat_1..3, sqrt(v_hat), w              each divided by its root mean square
                                                                    over the coordinates (small_fc_lopt's
                                                                    second-moment normalizer)
    Adam ratios          m_hat_k / (sqrt(v_hat) + 1e-8), clipped to [-5, 5]   (already scale-free; left
                                                                    unnormalized so that they carry how
                                                                    the gradient shrinks over time)
    iteration            tanh(t / T) for T in TIMESCALES = (10, 100, 1000)     (the same for every row)

12 inputs, one hidden ReLU layer (``hidden`` units, default 8), 2 outputs. The meta-parameters are
one flat vector ``theta = [W1 (12 x h) row-major, b1 (h), W2 (h x 2) row-major, b2 (2)]``.

Weight files are ``.npz`` (never pickle) with ``kind`` ("mlp" or "math"), ``hidden``, ``theta`` and
``info`` (a JSON string: how they were meta-trained).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from optkit.core.errors import InvalidParameterError

MOMENTUM_DECAYS = np.array([0.5, 0.9, 0.99])
RMS_DECAY = 0.999
TIMESCALES = np.array([10.0, 100.0, 1000.0])
N_FEATURES = 6 + 3 + 3
N_OUT = 2
DEFAULT_HIDDEN = 8
DATA = Path(__file__).parent / "data"


def n_params(hidden: int = DEFAULT_HIDDEN) -> int:
    """Length of the flat meta-parameter vector of a network with ``hidden`` units."""
    return N_FEATURES * hidden + hidden + hidden * N_OUT + N_OUT


def unpack(theta: np.ndarray, hidden: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``theta`` -> (W1 (12, h), b1 (h,), W2 (h, 2), b2 (2,))."""
    f, h = N_FEATURES, hidden
    i = 0
    W1 = theta[i : i + f * h].reshape(f, h)
    i += f * h
    b1 = theta[i : i + h]
    i += h
    W2 = theta[i : i + h * N_OUT].reshape(h, N_OUT)
    i += h * N_OUT
    return W1, b1, W2, theta[i : i + N_OUT]


def pack(W1, b1, W2, b2) -> np.ndarray:
    return np.concatenate([np.ravel(W1), np.ravel(b1), np.ravel(W2), np.ravel(b2)]).astype(np.float64)


def forward(theta: np.ndarray, hidden: int, X: np.ndarray) -> np.ndarray:
    """The per-coordinate MLP: ``relu(X W1 + b1) W2 + b2``, shape (d, 2)."""
    W1, b1, W2, b2 = unpack(theta, hidden)
    return np.maximum(X @ W1 + b1, 0.0) @ W2 + b2


def init_state(w: np.ndarray) -> dict:
    d = w.size
    return {"m": np.zeros((MOMENTUM_DECAYS.size, d)), "v": np.zeros(d), "count": 0}


def _normalize(col: np.ndarray) -> np.ndarray:
    rms = np.sqrt(np.mean(col * col))
    return col / rms if rms > 0 else col


def features(g: np.ndarray, w: np.ndarray, state: dict) -> tuple[np.ndarray, dict]:
    """The (d, 12) feature matrix at gradient ``g`` and iterate ``w``, and the updated accumulators."""
    t = state["count"] + 1
    b = MOMENTUM_DECAYS[:, None]
    m = b * state["m"] + (1 - b) * g
    v = RMS_DECAY * state["v"] + (1 - RMS_DECAY) * g * g
    m_hat = m / (1 - b**t)
    s = np.sqrt(v / (1 - RMS_DECAY**t))
    ratios = np.clip(m_hat / (s + 1e-8), -5.0, 5.0)
    cols = [_normalize(g), *(_normalize(r) for r in m_hat), _normalize(s), _normalize(w), *ratios]
    X = np.empty((g.size, N_FEATURES))
    X[:, : len(cols)] = np.stack(cols, axis=1)
    X[:, len(cols) :] = np.tanh(t / TIMESCALES)
    return X, {"m": m, "v": v, "count": t}


# -- weight files --------------------------------------------------------------------------------
def save_weights(path, theta, *, kind: str, hidden: int = DEFAULT_HIDDEN, info: dict | None = None) -> None:
    """Write meta-parameters to an ``.npz`` file (arrays and a JSON string only)."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (n_params(hidden),):
        raise InvalidParameterError(f"save_weights: 'theta' must have shape ({n_params(hidden)},) for hidden={hidden}; "
                                    f"got {theta.shape}")
    np.savez(path, kind=np.array(kind), hidden=np.array(int(hidden)), theta=theta,
             info=np.array(json.dumps(info or {}, sort_keys=True)))


def load_weights(path) -> dict:
    """Read a weight file: ``{"kind", "hidden", "theta", "info"}``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {"kind": str(z["kind"]), "hidden": int(z["hidden"]), "theta": np.asarray(z["theta"], dtype=np.float64),
                   "info": json.loads(str(z["info"]))}
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidParameterError(f"'weights': could not read a learned-optimizer weight file from {str(path)!r} "
                                    f"({type(exc).__name__}: {exc}); expected an .npz written by save_weights") from None
    if out["theta"].shape != (n_params(out["hidden"]),):
        raise InvalidParameterError(f"'weights': the file {str(path)!r} holds {out['theta'].size} meta-parameters; "
                                    f"expected {n_params(out['hidden'])} for hidden={out['hidden']}")
    return out


def resolve(owner: str, weights, kind: str, default_file: str) -> tuple[np.ndarray, int]:
    """``weights`` (None: the shipped file; a path; or a flat array) -> (theta, hidden)."""
    if weights is None:
        weights = DATA / default_file
    if isinstance(weights, (str, os.PathLike)):
        loaded = load_weights(weights)
        if loaded["kind"] != kind:
            raise InvalidParameterError(f"{owner}: 'weights' file {str(weights)!r} is for kind {loaded['kind']!r}; "
                                        f"expected {kind!r}")
        return loaded["theta"], loaded["hidden"]
    theta = np.asarray(weights, dtype=np.float64)
    sizes = {n_params(h): h for h in range(1, 257)}
    if theta.ndim != 1 or theta.size not in sizes or not np.all(np.isfinite(theta)):
        raise InvalidParameterError(
            f"{owner}: 'weights' must be None, a path to an .npz weight file, or a finite flat array of "
            f"n_params(hidden) = {N_FEATURES + 1 + N_OUT} * hidden + {N_OUT} numbers (e.g. {n_params()} for hidden="
            f"{DEFAULT_HIDDEN}); got shape {theta.shape}")
    return theta.copy(), sizes[theta.size]


def weights_ok(v) -> bool:
    """The constraint on the ``weights`` hyperparameter (its size is checked when the net is built)."""
    if v is None or isinstance(v, (str, os.PathLike)):
        return True
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.ndim == 1 and a.size > 0

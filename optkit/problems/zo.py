"""Test problems for zeroth-order methods: a function with strict saddles, and a black-box attack.

``strict_saddle(d, n_negative)``: ``f(x) = sum_{i < d-k} x_i^2 + sum_{i >= d-k} (x_i^4 / 4 - x_i^2 / 2)``
on ``[-2, 2]^d`` with ``k = n_negative``. The origin is a strict saddle (Hessian ``diag(2, .., 2, -1, .., -1)``),
so is every point whose last ``k`` coordinates are in ``{-1, 0, 1}`` with at least one 0; the minima
``x_i = 0`` (first ``d - k``), ``x_i = +-1`` (last ``k``) have ``f = -k/4``. ``f`` is even, so a two-point
estimate at the origin, ``f(mu u) - f(-mu u)``, is exactly 0.

``adversarial_digits(eps, image, kappa, distortion)``: an untargeted black-box evasion attack on a
multinomial logistic regression trained (scikit-learn, on first use) on the first 1,500 images of the
digits data set (8 x 8 pixels scaled to [0, 1]). The attacker perturbs one held-out image ``x_0``,
classified correctly with a log-probability margin of at least 1, within the l-infinity ball of radius ``eps`` (and the pixel range [0, 1]: the
problem's :class:`~optkit.Box`), seeing only the classifier's scores. Loss (Carlini & Wagner's margin,
as in the ZO attacks of Chen et al. 2017 and ZO-AdaMM)::

    f(x) = max(z_y(x) - max_{j != y} z_j(x), -kappa) + distortion * |x - x_0|^2

with ``z = log p`` the log-probabilities (the margin equals the logits' margin). ``f < 0`` means the
image is misclassified. Each term ``z_y - z_j`` is linear in ``x``, so with ``distortion = 0`` the exact
optimum is known: the box corner minimizing the best term; ``f_opt`` and ``x_opt`` are set to it.

>>> from optkit.problems.zo import strict_saddle
>>> p = strict_saddle(3, n_negative=1)
>>> float(p([0.0, 0.0, 1.0])), p.f_opt
(-0.25, -0.25)
"""

from __future__ import annotations

import functools

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.problem import Problem
from optkit.core.space import Box


def _positive_int(name: str, arg: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidParameterError(f"{name}: {arg!r} must be an int >= {minimum}; got {value!r}")
    return int(value)


def _real(name: str, arg: str, value, *, positive: bool) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) and np.isfinite(value)
    if not ok or (value <= 0 if positive else value < 0):
        raise InvalidParameterError(f"{name}: {arg!r} must be a finite number {'> 0' if positive else '>= 0'}; got {value!r}")
    return float(value)


class _StrictSaddle:
    """The vectorized objective (picklable, for process executors)."""

    def __init__(self, k: int):
        self.k = k

    def __call__(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        pos, neg = X[:, : X.shape[1] - self.k], X[:, X.shape[1] - self.k:]
        s = neg * neg
        return np.sum(pos * pos, axis=1) + np.sum(0.25 * s * s - 0.5 * s, axis=1)

    def grad(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        d = x.size
        return np.concatenate([2.0 * x[: d - self.k], x[d - self.k:] ** 3 - x[d - self.k:]])

    def hessian(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        d = x.size
        return np.diag(np.concatenate([np.full(d - self.k, 2.0), 3.0 * x[d - self.k:] ** 2 - 1.0]))


def strict_saddle(dim: int = 2, n_negative: int | None = None, *, on_error: str = "raise") -> Problem:
    """The strict-saddle function (module docstring) on ``[-2, 2]^dim``; ``n_negative`` defaults to ``dim // 2``
    (at least 1). The problem's ``grad`` is the exact gradient; ``f_opt = -n_negative / 4``."""
    name = "strict_saddle"
    d = _positive_int(name, "dim", 2 if dim is None else dim)
    k = max(1, d // 2) if n_negative is None else _positive_int(name, "n_negative", n_negative)
    if k > d:
        raise InvalidParameterError(f"{name}: 'n_negative' must be at most dim = {d}; got {k}")
    fun = _StrictSaddle(k)
    x_opt = np.concatenate([np.zeros(d - k), np.ones(k)])
    return Problem(fun, Box(-2.0, 2.0, dim=d), grad=fun.grad, vectorized=True, f_opt=-0.25 * k, x_opt=x_opt,
                   name=name, on_error=on_error)


@functools.cache
def _digits_classifier() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weights (10, 64), intercepts (10,), held-out images (n, 64) and labels of the digits classifier."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    X, y = load_digits(return_X_y=True)
    X = np.asarray(X, dtype=np.float64) / 16.0
    clf = LogisticRegression(C=1.0, max_iter=5000).fit(X[:1500], y[:1500])
    return clf.coef_.copy(), clf.intercept_.copy(), X[1500:], np.asarray(y[1500:])


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


class _AttackLoss:
    """The black-box attack loss on a batch (picklable)."""

    def __init__(self, W, b, x0, label, kappa, distortion):
        self.W, self.b, self.x0, self.label = W, b, x0, int(label)
        self.kappa, self.distortion = kappa, distortion

    def scores(self, X) -> np.ndarray:
        """The classifier's log-probabilities (n, 10): all the attacker sees."""
        return _log_softmax(np.atleast_2d(np.asarray(X, dtype=np.float64)) @ self.W.T + self.b)

    def __call__(self, X) -> np.ndarray:
        S = self.scores(X)
        own = S[:, self.label].copy()
        S[:, self.label] = -np.inf
        margin = np.maximum(own - S.max(axis=1), -self.kappa)
        D = np.atleast_2d(X) - self.x0
        return margin + self.distortion * np.sum(D * D, axis=1)


class AttackProblem(Problem):
    """The attack as a :class:`~optkit.Problem`, with the clean image, its label and the classifier."""

    def __init__(self, loss: _AttackLoss, space: Box, name: str, on_error: str):
        super().__init__(loss, space, vectorized=True, name=name, on_error=on_error)
        self.x_clean = loss.x0.copy()
        self.label = loss.label

    def predict(self, X) -> np.ndarray:
        """The classifier's labels for images (n, 64) or one image (64,)."""
        return np.argmax(self.fun.scores(X), axis=1)

    def fooled(self, x) -> bool:
        """Whether image ``x`` is classified as anything but the clean image's label."""
        return bool(self.predict(x)[0] != self.label)


def adversarial_digits(eps: float = 0.2, image: int = 0, kappa: float = 1.0, distortion: float = 0.0, *,
                       on_error: str = "raise") -> AttackProblem:
    """The black-box attack of the module docstring on the ``image``-th correctly classified held-out digit."""
    name = "adversarial_digits"
    eps = _real(name, "eps", eps, positive=True)
    kappa = _real(name, "kappa", kappa, positive=False)
    distortion = _real(name, "distortion", distortion, positive=False)
    image = _positive_int(name, "image", image, minimum=0)
    W, b, X, y = _digits_classifier()
    Z = X @ W.T + b
    own = Z[np.arange(y.size), y]
    Z[np.arange(y.size), y] = -np.inf
    confident = np.flatnonzero(own - Z.max(axis=1) >= 1.0)
    if image >= confident.size:
        raise InvalidParameterError(f"{name}: 'image' must be < {confident.size} (the held-out images classified "
                                    f"correctly with a margin >= 1); got {image}")
    x0, label = X[confident[image]], int(y[confident[image]])
    space = Box(np.maximum(0.0, x0 - eps), np.minimum(1.0, x0 + eps))
    problem = AttackProblem(_AttackLoss(W, b, x0, label, kappa, distortion), space, name, on_error)
    if distortion == 0.0:
        # the margin is min_j (z_y - z_j), each term linear in x: its minimum over the box is at a corner
        A, c = W[label] - W, b[label] - b
        lows = c + np.minimum(A * space.lower, A * space.upper).sum(axis=1)
        lows[label] = np.inf
        j = int(np.argmin(lows))
        problem.f_opt = max(float(lows[j]), -kappa)
        problem.x_opt = np.where(A[j] > 0, space.lower, space.upper)
    return problem


PROBLEMS = {
    "strict_saddle": lambda dim=None, *, on_error="raise": strict_saddle(2 if dim is None else dim, on_error=on_error),
    "adversarial_digits": lambda dim=None, *, on_error="raise": _fixed_attack(dim, on_error),
}


def _fixed_attack(dim, on_error) -> AttackProblem:
    if dim is not None and dim != 64:
        raise InvalidParameterError(f"adversarial_digits: 'dim' is fixed by the images at 64; got {dim!r}")
    return adversarial_digits(on_error=on_error)


__all__ = ["AttackProblem", "PROBLEMS", "adversarial_digits", "strict_saddle"]

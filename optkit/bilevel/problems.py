"""Bilevel test problems: a toy quadratic with a known solution, and three on real data.

* :func:`toy_quadratic`: ``g_i = 1/2 y^T A_i y - y^T B_i x``, ``f_j = 1/2 ||y - t_j||^2 + rho/2 ||x||^2``
  over ``n`` lower and ``n`` upper examples; ``y*(x) = A^{-1} B x`` (``A``, ``B``, ``t`` the means),
  analytic hypergradient ``M^T (M x - t) + rho x`` with ``M = A^{-1} B``, and the solution
  ``x* = (M^T M + rho I)^{-1} M^T t``. ``A`` has eigenvalues evenly spaced in ``[mu, L]``; ``mu <= 0``
  makes the lower level not strongly convex (declared so).
* :func:`ridge_hpo`: per-feature ridge penalties ``exp(x_j)`` on diabetes (442 examples, 10 features):
  lower = training squared loss + ``1/2 sum_j exp(x_j) y_j^2``, upper = validation squared loss.
* :func:`logreg_hpo`: the same for L2-regularized logistic regression on breast cancer (569, 30 features).
* :func:`hyper_cleaning`: data hyper-cleaning on digits (Franceschi et al. 2017; Shaban et al. 2019):
  a fraction of the training labels is corrupted; ``x_i`` weighs training example ``i`` by
  ``sigmoid(x_i)`` in the lower (weighted, L2-regularized) classification loss; the upper loss is the
  clean validation loss. ``classes="binary"`` (digits 0-4 vs 5-9, logistic) or ``"softmax"`` (10 classes).

Features are standardized with an intercept column (as :mod:`optkit.problems.ml`), splits drawn from
``seed``. Every oracle is exact and closed form; HVPs and JVPs are applied to vectors, never formed.

>>> from optkit.bilevel.problems import toy_quadratic
>>> p = toy_quadratic()
>>> bool(abs(p.upper_objective(p.x_opt) - p.f_opt) < 1e-12)
True
"""

from __future__ import annotations

import numpy as np

from optkit.bilevel.problem import BilevelProblem
from optkit.core.errors import InvalidParameterError


def _rows(A, idx):
    return A if idx is None else A[idx]


def _int(owner, arg, v, lo):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise InvalidParameterError(f"{owner}: {arg!r} must be an int >= {lo}; got {v!r}")
    return int(v)


def _real(owner, arg, v, lo=None, hi=None):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v) \
            or (lo is not None and v < lo) or (hi is not None and v > hi):
        raise InvalidParameterError(f"{owner}: {arg!r} must be a finite number in [{lo}, {hi}]; got {v!r}")
    return float(v)


# -- the toy quadratic -------------------------------------------------------------------------
class _Toy:
    def __init__(self, A_i, B_i, t_j, rho):
        self.A_i, self.B_i, self.t_j, self.rho = A_i, B_i, t_j, rho
        self.A, self.B, self.t = A_i.mean(0), B_i.mean(0), t_j.mean(0)

    def _AB(self, idx):
        if idx is None:
            return self.A, self.B
        return self.A_i[idx].mean(0), self.B_i[idx].mean(0)

    def f(self, x, y, idx):
        T = _rows(self.t_j, idx)
        return 0.5 * float(np.mean(np.sum((y - T) ** 2, axis=1))) + 0.5 * self.rho * float(x @ x)

    def grad_f(self, x, y, idx):
        return self.rho * x, y - _rows(self.t_j, idx).mean(0)

    def g(self, x, y, idx):
        A, B = self._AB(idx)
        return 0.5 * float(y @ A @ y) - float(y @ B @ x)

    def grad_g(self, x, y, idx):
        A, B = self._AB(idx)
        return -B.T @ y, A @ y - B @ x

    def hvp(self, x, y, v, idx):
        return self._AB(idx)[0] @ v

    def jvp(self, x, y, v, idx):
        return -self._AB(idx)[1].T @ v

    def solution(self, x):
        return np.linalg.solve(self.A, self.B @ x)

    def hypergradient(self, x):
        M = np.linalg.solve(self.A, self.B)
        return M.T @ (M @ x - self.t) + self.rho * x

    def optimum(self):
        M = np.linalg.solve(self.A, self.B)
        x = np.linalg.solve(M.T @ M + self.rho * np.eye(M.shape[1]), M.T @ self.t)
        return x, self.f(x, self.solution(x), None)


def toy_quadratic(dx: int = 3, dy: int = 5, n: int = 64, *, mu: float = 0.5, L: float = 2.0, rho: float = 0.1,
                  noise: float = 0.05, seed: int = 0, name: str | None = None) -> BilevelProblem:
    """A quadratic bilevel problem with analytic ``y*(x)``, hypergradient and solution (module docstring).

    ``noise`` scales the per-example perturbations of ``A_i`` and ``B_i`` (centered, so the full-data
    ``A`` and ``B`` are exact; the upper targets ``t_j`` are N(1, I) draws); ``x0 = 0``, ``y0 = 0``.
    """
    owner = "toy_quadratic"
    dx, dy, n = _int(owner, "dx", dx, 1), _int(owner, "dy", dy, 1), _int(owner, "n", n, 1)
    mu, L = _real(owner, "mu", mu), _real(owner, "L", L)
    rho, noise = _real(owner, "rho", rho, 0.0), _real(owner, "noise", noise, 0.0)
    if not L > max(mu, 0.0):
        raise InvalidParameterError(f"{owner}: 'L' must exceed 'mu' and 0; got mu={mu!r}, L={L!r}")
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((dy, dy)))
    A = (U * np.linspace(mu, L, dy)) @ U.T
    E = rng.standard_normal((n, dy, dy))
    E = (E + E.transpose(0, 2, 1)) / 2
    E -= E.mean(0)
    F = rng.standard_normal((n, dy, dx))
    B_i = rng.standard_normal((dy, dx)) + noise * (F - F.mean(0))
    t_j = rng.standard_normal((n, dy)) + 1.0
    m = _Toy(A + noise * E, B_i, t_j, rho)
    sc = mu > 0
    x_opt, f_opt = m.optimum() if sc else (None, None)
    return BilevelProblem(m.f, m.g, m.grad_f, m.grad_g, x0=np.zeros(dx), y0=np.zeros(dy), lower_hvp=m.hvp, lower_jvp=m.jvp,
                          n_upper=n, n_lower=n, lower_strongly_convex=sc, lower_solution=m.solution if sc else None,
                          hypergradient=m.hypergradient if sc else None, x_opt=x_opt, f_opt=f_opt,
                          name=name or f"toy_quadratic_dx{dx}_dy{dy}")


# -- hyperparameter optimization of ridge and logistic regression -----------------------------
def _split(dataset: str, train: float, seed: int):
    from optkit.problems.ml import _features, _raw

    X, y = _raw(dataset)
    A = _features(X, 0.0)
    perm = np.random.default_rng(seed).permutation(A.shape[0])
    k = int(round(train * A.shape[0]))
    return A, np.asarray(y), perm[:k], perm[k:]


class _RegHPO:
    """Per-feature L2 penalties ``exp(x_j)`` (intercept free) on a squared or logistic loss."""

    def __init__(self, At, bt, Av, bv, loss):
        self.At, self.bt, self.Av, self.bv, self.loss = At, bt, Av, bv, loss

    def _pen(self, x):
        return np.append(np.exp(x), 0.0)

    def _data(self, A, b, y, idx):
        A, b = _rows(A, idx), _rows(b, idx)
        z = A @ y
        if self.loss == "squared":
            r = z - b
            return 0.5 * float(np.mean(r * r)), A.T @ r / A.shape[0], A, np.ones(A.shape[0])
        m = b * z
        from scipy.special import expit

        s = expit(-m)
        return float(np.mean(np.logaddexp(0.0, -m))), -(A.T @ (b * s)) / A.shape[0], A, s * (1 - s)

    def f(self, x, y, idx):
        return self._data(self.Av, self.bv, y, idx)[0]

    def grad_f(self, x, y, idx):
        return np.zeros_like(x), self._data(self.Av, self.bv, y, idx)[1]

    def g(self, x, y, idx):
        return self._data(self.At, self.bt, y, idx)[0] + 0.5 * float(self._pen(x) @ (y * y))

    def grad_g(self, x, y, idx):
        gy = self._data(self.At, self.bt, y, idx)[1] + self._pen(x) * y
        return 0.5 * np.exp(x) * y[:-1] ** 2, gy

    def hvp(self, x, y, v, idx):
        _, _, A, w = self._data(self.At, self.bt, y, idx)
        return A.T @ (w * (A @ v)) / A.shape[0] + self._pen(x) * v

    def jvp(self, x, y, v, idx):
        return np.exp(x) * y[:-1] * v[:-1]

    def hessian(self, x, y):
        _, _, A, w = self._data(self.At, self.bt, y, None)
        return (A.T * w) @ A / A.shape[0] + np.diag(self._pen(x))

    def solution(self, x):
        if self.loss == "squared":
            return np.linalg.solve(self.hessian(x, np.zeros(self.At.shape[1])), self.At.T @ self.bt / self.At.shape[0])
        from optkit.problems.ml import _newton

        def lg(y):
            return self.g(x, y, None), self.grad_g(x, y, None)[1]

        return _newton(lg, lambda y: self.hessian(x, y), np.zeros(self.At.shape[1]))[1]

    def hypergradient(self, x):
        y = self.solution(x)
        v = np.linalg.solve(self.hessian(x, y), self.grad_f(x, y, None)[1])
        return -self.jvp(x, y, v, None)

    def metrics(self, x, y):
        if self.loss == "squared":
            return {"val_mse": float(np.mean((self.Av @ y - self.bv) ** 2))}
        return {"val_accuracy": float(np.mean(np.sign(self.Av @ y) == self.bv))}


def _reg_problem(m: _RegHPO, name: str, n_tr: int, n_val: int, x0: float) -> BilevelProblem:
    d = m.At.shape[1]
    return BilevelProblem(m.f, m.g, m.grad_f, m.grad_g, x0=np.full(d - 1, x0), y0=np.zeros(d), lower_hvp=m.hvp,
                          lower_jvp=m.jvp, n_upper=n_val, n_lower=n_tr, lower_solution=m.solution,
                          hypergradient=m.hypergradient, bounds=[(-6.0, 3.0)] * (d - 1), metrics=m.metrics, name=name)


def ridge_hpo(dataset: str = "diabetes", *, train: float = 0.5, x0: float = 0.0, seed: int = 0,
              name: str | None = None) -> BilevelProblem:
    """Per-feature ridge penalties ``exp(x_j)`` tuned on a validation split (standardized target).

    ``x`` (10 log-penalties on diabetes) lives in the box ``[-6, 3]`` (penalties from 0.0025 to 20, so
    the lower level's smoothness stays below ~25: lower-level steps up to ~0.08 are stable); ``y`` the
    11 ridge weights (intercept unpenalized). ``y*(x)`` and the hypergradient are closed forms.
    """
    train = _real("ridge_hpo", "train", train, 0.05, 0.95)
    A, b, tr, va = _split(dataset, train, seed)
    b = (b - b.mean()) / b.std()
    m = _RegHPO(A[tr], b[tr], A[va], b[va], "squared")
    return _reg_problem(m, name or f"ridge_hpo_{dataset}", tr.size, va.size, _real("ridge_hpo", "x0", x0))


def logreg_hpo(dataset: str = "breast_cancer", *, train: float = 0.5, x0: float = -2.0, seed: int = 0,
               name: str | None = None) -> BilevelProblem:
    """Per-feature L2 penalties ``exp(x_j)`` of logistic regression tuned on a validation split.

    ``y*(x)`` by Newton's method, hypergradient by a dense solve (both uncounted references).
    """
    train = _real("logreg_hpo", "train", train, 0.05, 0.95)
    A, b, tr, va = _split(dataset, train, seed)
    classes = np.unique(b)
    if classes.size != 2:
        raise InvalidParameterError(f"logreg_hpo: dataset {dataset!r} has {classes.size} classes; expected 2")
    b = np.where(b == classes[1], 1.0, -1.0)
    m = _RegHPO(A[tr], b[tr], A[va], b[va], "logistic")
    return _reg_problem(m, name or f"logreg_hpo_{dataset}", tr.size, va.size, _real("logreg_hpo", "x0", x0))


# -- data hyper-cleaning -----------------------------------------------------------------------
def _sig(z):
    from scipy.special import expit

    return expit(z)


class _Cleaning:
    """Weighted classification: lower ``mean_i sigmoid(x_i) l_i(W) + l2/2 ||W||^2``, upper clean validation loss."""

    def __init__(self, At, lt, Av, lv, Ate, lte, k, l2, corrupted):
        self.At, self.lt, self.Av, self.lv, self.Ate, self.lte = At, lt, Av, lv, Ate, lte
        self.k, self.l2, self.corrupted = k, l2, corrupted
        self.p = At.shape[1]

    # per-example losses, their gradient-matrix rows and the curvature weights of a linear model
    def _fwd(self, A, labels, y):
        if self.k == 2:
            b = 2.0 * labels - 1.0
            m = b * (A @ y)
            s = _sig(-m)
            return np.logaddexp(0.0, -m), (-b * s), s * (1 - s)
        Z = A @ y.reshape(self.p, self.k)
        Z = Z - Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
        rows = np.arange(A.shape[0])
        loss = -np.log(P[rows, labels])
        R = P.copy()
        R[rows, labels] -= 1.0
        return loss, R, P

    def _grad_y(self, A, R, w):
        if self.k == 2:
            return A.T @ (w * R)
        return (A.T @ (w[:, None] * R)).ravel()

    def f(self, x, y, idx):
        return float(np.mean(self._fwd(_rows(self.Av, idx), _rows(self.lv, idx), y)[0]))

    def grad_f(self, x, y, idx):
        A = _rows(self.Av, idx)
        _, R, _ = self._fwd(A, _rows(self.lv, idx), y)
        return np.zeros_like(x), self._grad_y(A, R, np.full(A.shape[0], 1.0 / A.shape[0]))

    def g(self, x, y, idx):
        loss = self._fwd(_rows(self.At, idx), _rows(self.lt, idx), y)[0]
        return float(np.mean(_sig(_rows(x, idx)) * loss)) + 0.5 * self.l2 * float(y @ y)

    def grad_g(self, x, y, idx):
        A, xi = _rows(self.At, idx), _rows(x, idx)
        loss, R, _ = self._fwd(A, _rows(self.lt, idx), y)
        s = _sig(xi)
        gx = np.zeros_like(x)
        rows = np.arange(x.size) if idx is None else idx
        np.add.at(gx, rows, s * (1 - s) * loss / A.shape[0])
        return gx, self._grad_y(A, R, s / A.shape[0]) + self.l2 * y

    def hvp(self, x, y, v, idx):
        A = _rows(self.At, idx)
        w = _sig(_rows(x, idx)) / A.shape[0]
        _, _, C = self._fwd(A, _rows(self.lt, idx), y)
        if self.k == 2:
            return A.T @ (w * C * (A @ v)) + self.l2 * v
        U = A @ v.reshape(self.p, self.k)
        S = C * U - C * np.sum(C * U, axis=1, keepdims=True)
        return (A.T @ (w[:, None] * S)).ravel() + self.l2 * v

    def jvp(self, x, y, v, idx):
        A, xi = _rows(self.At, idx), _rows(x, idx)
        _, R, _ = self._fwd(A, _rows(self.lt, idx), y)
        if self.k == 2:
            dots = R * (A @ v)
        else:
            dots = np.sum(R * (A @ v.reshape(self.p, self.k)), axis=1)
        s = _sig(xi)
        out = np.zeros_like(x)
        rows = np.arange(x.size) if idx is None else idx
        np.add.at(out, rows, s * (1 - s) * dots / A.shape[0])
        return out

    def predict(self, A, y):
        if self.k == 2:
            return (A @ y > 0).astype(int)
        return np.argmax(A @ y.reshape(self.p, self.k), axis=1)

    def metrics(self, x, y):
        w = _sig(x)
        return {"test_accuracy": float(np.mean(self.predict(self.Ate, y) == self.lte)),
                "weight_corrupted": float(w[self.corrupted].mean()) if self.corrupted.any() else float("nan"),
                "weight_clean": float(w[~self.corrupted].mean())}


def hyper_cleaning(dataset: str = "digits", *, classes: str = "binary", n_train: int = 500, n_val: int = 500,
                   corruption: float = 0.4, l2: float = 1e-3, seed: int = 0, name: str | None = None) -> BilevelProblem:
    """Data hyper-cleaning (module docstring): ``x`` in R^{n_train} (example weights' logits, ``x0 = 0``),
    ``y`` the linear classifier (65 or 65 x 10 weights), the rest of the data held out for
    ``metrics(x, y)["test_accuracy"]``. ``corruption`` is the fraction of training labels replaced by a
    uniformly drawn *different* label.
    """
    owner = "hyper_cleaning"
    if classes not in ("binary", "softmax"):
        raise InvalidParameterError(f"{owner}: 'classes' must be 'binary' or 'softmax'; got {classes!r}")
    corruption = _real(owner, "corruption", corruption, 0.0, 1.0)
    l2 = _real(owner, "l2", l2, 0.0)
    if not l2 > 0:
        raise InvalidParameterError(f"{owner}: 'l2' must be > 0 (it makes the lower level strongly convex); got {l2!r}")
    n_train, n_val = _int(owner, "n_train", n_train, 2), _int(owner, "n_val", n_val, 2)
    from optkit.problems.ml import _features, _raw

    X, digits = _raw(dataset)
    if n_train + n_val >= X.shape[0]:
        raise InvalidParameterError(f"{owner}: 'n_train' + 'n_val' must leave test data (< {X.shape[0]}); got {n_train + n_val}")
    A = _features(X, 0.0)
    _, labels = np.unique(digits, return_inverse=True)
    k = 2 if classes == "binary" else int(labels.max()) + 1
    if classes == "binary":
        labels = (labels >= (labels.max() + 1) // 2).astype(int)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(A.shape[0])
    tr, va, te = perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]
    lt = labels[tr].copy()
    corrupted = rng.random(n_train) < corruption
    lt[corrupted] = (lt[corrupted] + rng.integers(1, k, corrupted.sum())) % k
    m = _Cleaning(A[tr], lt, A[va], labels[va], A[te], labels[te], k, l2, corrupted)
    dy = A.shape[1] * (1 if k == 2 else k)
    return BilevelProblem(m.f, m.g, m.grad_f, m.grad_g, x0=np.zeros(n_train), y0=np.zeros(dy), lower_hvp=m.hvp,
                          lower_jvp=m.jvp, n_upper=n_val, n_lower=n_train, metrics=m.metrics,
                          name=name or f"hyper_cleaning_{dataset}_{classes}")

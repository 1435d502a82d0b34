"""OptEx: first-order optimization expedited with approximately parallelized iterations (Shu, Lin, Dai &
Low, "OptEx: Expediting First-Order Optimization with Approximately Parallelized Iterations", NeurIPS 2024).

A *round* runs ``N = parallelism`` iterations of a base first-order update ``U`` (SGD or Adam) with only
one sequential gradient evaluation step. From the round's start ``x^(0) = x_t``, the next ``N - 1``
iterates are proxies built with gradients *predicted* by kernel regression (the posterior mean of a
zero-mean Gaussian process with an RBF kernel, shared over coordinates) on the last ``history`` true
pairs ``(x_k, g_k)``::

    mu(x) = k(x, X_H) (K_HH + noise I)^{-1} G_H,     k(x, x') = exp(-||x - x'||^2 / (2 l^2))
    x^(s+1) = x^(s) + U(mu(x^(s)))                   s = 0 .. N-2   (sequential, cheap)
    g^(s)   = grad f_B(x^(s))                        s = 0 .. N-1   (in parallel: the executor)
    x_{t+1} = x^(N-1) + U(g^(N-1))

and the ``N`` true pairs join the history. ``l`` is the median distance between the history points
(the median heuristic). With ``N = 1`` a round is one step of the base method, exactly. Budget: one
round costs ``N b`` oracle calls; a run's history has one row per round (``nit`` counts the sequential
rounds). ``minimize(..., executor=ex)`` submits the ``N`` evaluations to a
:class:`concurrent.futures.Executor` (a process pool needs a picklable problem); the results equal the
serial run's under the same seed.
"""

from __future__ import annotations

import numpy as np

from optkit.core import transforms as tx
from optkit.core.errors import InvalidParameterError
from optkit.core.gradient import COMMON_CONSTRAINTS, POSITIVE, UNIT, GradientOptimizer
from optkit.core.params import Interval, Options
from optkit.core.registry import register
from optkit.core.transforms import Context


def kernel_gradient_predictor(X: np.ndarray, G: np.ndarray, noise: float = 1e-6):
    """The GP posterior mean ``x -> mu(x)`` from pairs ``(X_k, G_k)`` (rows), RBF kernel, median lengthscale."""
    X, G = np.asarray(X, dtype=np.float64), np.asarray(G, dtype=np.float64)
    d2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    off = d2[np.triu_indices(len(X), 1)]
    ell2 = float(np.median(off)) if off.size and np.median(off) > 0 else 1.0
    K = np.exp(-d2 / (2 * ell2)) + noise * np.eye(len(X))
    alpha = np.linalg.solve(K, G)

    def mu(x):
        k = np.exp(-np.sum((X - x) ** 2, axis=1) / (2 * ell2))
        return k @ alpha

    return mu


@register("optex", family="first_order")
class OptEx(GradientOptimizer):
    """N approximately parallel iterations of SGD or Adam per round, via kernelized gradient prediction."""

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "lr": [POSITIVE],
        "base": [Options(("sgd", "adam"))],
        "parallelism": [Interval(int, 1, None)],
        "history": [Interval(int, 1, None)],
        "noise": [Interval(float, 0, None)],
        "b1": [UNIT],
        "b2": [UNIT],
        "eps": [Interval(float, 0, None)],
    }

    def __init__(self, space, *, lr: float = 0.01, base: str = "sgd", parallelism: int = 4, history: int = 40,
                 noise: float = 1e-6, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                 batch_size: int | None = 32, sampling: str = "shuffle", seed=None):
        super().__init__(space, lr=lr, base=base, parallelism=parallelism, history=history, noise=noise, b1=b1,
                         b2=b2, eps=eps, batch_size=batch_size, sampling=sampling, seed=seed)
        self._executor = None
        self._hist: list = []

    def _build(self) -> tx.Transform:
        if self.base == "adam":
            return tx.chain(tx.scale_by_adam(self.b1, self.b2, self.eps), tx.scale_by_learning_rate(self.lr))
        return tx.scale_by_learning_rate(self.lr)

    def oracle_cost(self, b: int, step: int) -> int:
        return self.parallelism * b

    def minimize(self, problem, budget, *, callback=None, progress=False, journal=None, executor=None):
        """As :meth:`GradientOptimizer.minimize`; ``executor`` (a concurrent.futures executor) runs each
        round's ``parallelism`` gradient evaluations concurrently."""
        if executor is not None and not callable(getattr(executor, "submit", None)):
            raise InvalidParameterError(f"OptEx.minimize: 'executor' must be a concurrent.futures executor or None; got {executor!r}")
        self._executor = executor
        try:
            return super().minimize(problem, budget, callback=callback, progress=progress, journal=journal)
        finally:
            self._executor = None

    def _apply(self, g, w, loss):
        ctx = Context(w=w, grad=g, loss=loss, step=self._t, rng=self.rng, hvp=None)
        u, self._opt_state = self._transform.update(g, self._opt_state, ctx)
        return self._project(w + u)

    def _step(self, problem, w, idx):
        N = self.parallelism
        state0 = self._opt_state
        xs = [w]
        if N > 1 and self._hist:
            H = self._hist[-self.history:]
            mu = kernel_gradient_predictor(np.array([h[0] for h in H]), np.array([h[1] for h in H]), self.noise)
            for _ in range(N - 1):
                xs.append(self._apply(mu(xs[-1]), xs[-1], 0.0))
        else:  # no history yet: the proxies stay at x_t
            xs += [w] * (N - 1)
        out = self._evaluate(problem, xs, idx)
        for (loss, g), x in zip(out, xs):
            if not np.isfinite(loss) or not np.all(np.isfinite(g)):
                self._opt_state, self._last_loss = state0, loss
                what = "loss" if not np.isfinite(loss) else "gradient"
                return f"non-finite minibatch {what} at iteration {self._t} (loss={loss!r})", w
            self._hist.append((x, g))
        del self._hist[: -self.history]
        loss, g = out[-1]
        self._last_loss = out[0][0]
        w_new = self._apply(g, xs[-1], loss)
        if not np.all(np.isfinite(w_new)):
            self._opt_state = state0
            return f"non-finite update at iteration {self._t}", w
        return None, w_new

    def _evaluate(self, problem, xs, idx):
        if self._executor is None:
            return [problem.loss_and_grad(x, idx) for x in xs]
        before = problem.calls
        futures = [self._executor.submit(problem.loss_and_grad, x, idx) for x in xs]
        out = [f.result() for f in futures]
        missing = len(xs) * (problem.n_examples if idx is None else len(idx)) - (problem.calls - before)
        if missing > 0:  # a process pool counted on its copies of the problem
            problem.counts["grad"] += missing
        return out

    def _get_state(self) -> dict:
        return {**super()._get_state(), "hist": [(x.copy(), g.copy()) for x, g in self._hist]}

    def _set_state(self, state: dict) -> None:
        super()._set_state(state)
        self._hist = [(np.asarray(x), np.asarray(g)) for x, g in state.get("hist", [])]

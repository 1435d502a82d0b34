"""Frank-Wolfe (conditional gradient): projection-free minimization of a smooth f over a compact
convex set C that is known only through its linear minimization oracle (:mod:`optkit.zeroth_order.lmo`).

Iteration t at x_t with gradient g_t = grad f(x_t)::

    v_t   = argmin_{s in C} <g_t, s>                      (one LMO call)
    gap_t = <g_t, x_t - v_t>  >=  f(x_t) - f*              (the Frank-Wolfe duality gap, f convex)
    x_t+1 = x_t + gamma_t d_t,   d_t = v_t - x_t,   gamma_t in [0, gamma_max]

Variants (``variant=``), after Lacoste-Julien & Jaggi, "On the global linear convergence of
Frank-Wolfe optimization variants", NeurIPS 2015:

* ``"vanilla"`` (Frank & Wolfe 1956): the step above; O(1/t) on convex f.
* ``"away"`` (Guelat & Marcotte 1986): keeps x as a convex combination of an *active set* of
  vertices S with weights alpha; with a = argmax_{s in S} <g, s> it takes the FW direction or the
  away direction x - a (gamma_max = alpha_a / (1 - alpha_a)), whichever descends more; a full away
  step drops a from S. Linear convergence on polytopes for strongly convex f.
* ``"pairwise"``: moves weight from a to v, d = v - a (gamma_max = alpha_a); also linear on polytopes.

Step rules (``step=``): ``"open-loop"`` gamma = 2 / (t + 2); ``"short"`` the short step
gamma = min(-<g, d> / (L ||d||^2), gamma_max) with the smoothness constant ``L``, or when ``L`` is None
its adaptive estimate M by backtracking (Pedregosa, Negiar, Askari & Jaggi, "Linearly convergent
Frank-Wolfe with backtracking line-search", AISTATS 2020: M starts from a finite-difference curvature
estimate along the first direction, shrinks by 0.9 each step, doubles until the quadratic upper bound
holds); ``"line-search"``: the exact minimizer along d for a quadratic when the problem has a Hessian-
vector product (gamma = -<g, d> / <d, H d>), else gamma_max, then Armijo halving until
f(x + gamma d) <= f(x) + 1e-4 gamma <g, d> (so a non-quadratic f still decreases).

``lazy=True`` (Braun, Pokutta & Zink, "Lazifying conditional gradient algorithms", ICML 2017):
before calling the LMO, look among earlier vertices (the active set for away/pairwise, the last
``CACHE_SIZE`` LMO answers for vanilla) for one with <g, x - v> >= phi / ``lazy_factor``, phi the last
gap the true LMO returned; only when none qualifies is the LMO called (and phi set to its gap).

The certificate: ``res.gap`` is the FW gap at the iterate ``res.gap_iteration`` (the row of
``res.history``) where the LMO was last called; for convex f, ``f(x) - f* <= gap`` there. With full
batches (the default) the run stops with ``Status.CONVERGED`` as soon as a gap <= ``tol``, and then
``res.x`` is that certified iterate; ``res.dual_bound = max_t (f(x_t) - gap_t) <= f*`` (full batch,
convex f), so ``res.fun - res.dual_bound`` bounds the suboptimality of ``res.x`` in every case.

``FrankWolfe`` is a gradient method (a :class:`~optkit.core.gradient.GradientOptimizer`): it runs on a
:class:`~optkit.StochasticProblem` (``batch_size=None``, the default, is the deterministic method; an
int gives stochastic Frank-Wolfe on minibatches) or on a :class:`~optkit.Problem` that has ``grad=``.
The budget counts oracle calls (one per gradient, loss or Hessian-vector product on one example).
:func:`frank_wolfe` is the functional form ``frank_wolfe(fun, grad, lmo, x0)``.
"""

from __future__ import annotations

import math

import numpy as np

from optkit.core import transforms as tx
from optkit.core.errors import InvalidParameterError
from optkit.core.gradient import COMMON_CONSTRAINTS, POSITIVE, GradientOptimizer
from optkit.core.params import BOOL, POINT, Interval, Options, Predicate, validate
from optkit.core.problem import Problem
from optkit.core.registry import register
from optkit.core.result import Status
from optkit.core.space import Box
from optkit.core.stochastic import StochasticProblem
from optkit.zeroth_order.lmo import LMO, BoxLMO, from_spec

VARIANTS = ("vanilla", "away", "pairwise")
STEPS = ("open-loop", "short", "line-search")
#: loss evaluations of one backtracking search (adaptive short step, Armijo) before it gives up (no move)
MAX_TRIALS = 10
#: vertices a lazy vanilla run keeps (memory CACHE_SIZE x d)
CACHE_SIZE = 32
LMO_CONSTRAINT = Predicate(lambda v: isinstance(v, LMO) or isinstance(from_spec(v), LMO),
                           "an LMO from optkit.zeroth_order (e.g. L1Ball(radius=1.0)) or its JSON spec "
                           "(e.g. {'type': 'L1Ball', 'radius': 1.0}, what lmo.spec() returns)")


@register("frank-wolfe", family="zeroth_order")
class FrankWolfe(GradientOptimizer):
    """Frank-Wolfe with vanilla, away-step and pairwise variants (see the module docstring).

    Parameters
    ----------
    space : Box
        The space of the iterates; with ``lmo=None`` its (finite) box is the feasible set.
    lmo : LMO or dict, optional
        The feasible set (default: the space's box as a :class:`BoxLMO`), or its JSON spec
        (``lmo.spec()``). A bounded space must contain it: Frank-Wolfe cannot project onto the
        intersection.
    variant : {"vanilla", "away", "pairwise"}
    step : {"short", "open-loop", "line-search"}
    L : float, optional
        Smoothness constant for ``step="short"``; None estimates it by backtracking.
    lazy : bool
        Reuse earlier vertices while they make enough progress (fewer LMO calls).
    lazy_factor : float
        K >= 1 of the lazy rule (a cached vertex must reach gap / K).
    tol : float
        Stop when the (full-batch) Frank-Wolfe gap is <= tol.
    x0 : array (d,), optional
        Start (default: ``problem.w0`` of a StochasticProblem, the LMO's vertex ``lmo.start(d)`` for a
        Problem). A start outside the set is *projected* onto it (Euclidean projection, once;
        ``res.start_projected`` says so); a set without a cheap projection (Birkhoff) raises.
    batch_size : int, optional
        Examples per gradient (None: the full batch, deterministic Frank-Wolfe).
    sampling : {"shuffle", "iid"}
    seed : int, optional

    Examples
    --------
    >>> import numpy as np, optkit
    >>> from optkit.zeroth_order import L1Ball, frank_wolfe
    >>> b = np.array([0.8, -0.3, 0.1])
    >>> res = frank_wolfe(lambda x: 0.5 * float((x - b) @ (x - b)), lambda x: x - b, L1Ball(1.0), np.zeros(3),
    ...                   variant="pairwise")
    >>> np.round(res.x, 6).tolist(), bool(res.gap <= 1e-7), res.status.name
    ([0.733333, -0.233333, 0.033333], True, 'CONVERGED')
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "lmo": [None, LMO_CONSTRAINT],
        "variant": [Options(VARIANTS)],
        "step": [Options(STEPS)],
        "L": [None, POSITIVE],
        "lazy": [BOOL],
        "lazy_factor": [Interval(float, 1, None)],
        "tol": [Interval(float, 0, None)],
        "x0": [None, POINT],
    }

    def __init__(self, space, *, lmo=None, variant: str = "vanilla", step: str = "short", L: float | None = None,
                 lazy: bool = False, lazy_factor: float = 2.0, tol: float = 1e-7, x0=None,
                 batch_size: int | None = None, sampling: str = "shuffle", seed=None):
        super().__init__(space, lmo=lmo, variant=variant, step=step, L=L, lazy=lazy, lazy_factor=lazy_factor, tol=tol,
                         x0=x0, batch_size=batch_size, sampling=sampling, seed=seed)
        if L is not None and not math.isfinite(L):
            raise InvalidParameterError(f"The 'L' parameter of FrankWolfe must be finite. Got {L!r} instead.")
        self.lmo_ = _resolve_lmo("FrankWolfe", self.space, lmo)
        if x0 is not None and np.asarray(x0).size != self.dim:
            raise InvalidParameterError(f"FrankWolfe: 'x0' must have {self.dim} entries; got {np.asarray(x0).size}")
        self._S: list[np.ndarray] = []       # active set (away/pairwise) or lazy cache (vanilla)
        self._alpha: list[float] = []        # active-set weights
        self._phi: float | None = None       # lazy: the last true gap
        self._M: float | None = None         # adaptive estimate of L
        self._gap: float | None = None
        self._gap_at = -1
        self._dual: float | None = None
        self._lmo_calls = 0
        self._start_projected = False
        self._stop: str | None = None
        self._max_iter: int | None = None    # set by frank_wolfe()
        self._cap = MAX_TRIALS               # trials of this step's search (fewer at the end of a budget)
        self._run_gaps: list[float] = []

    def _build(self) -> tx.Transform:
        # the Frank-Wolfe step is not an update of the gradient (it needs the LMO and the step search):
        # _step computes it; the chain is the identity so the shared state machinery stays in place
        return tx.identity()

    @property
    def _uses_active_set(self) -> bool:
        return self.variant != "vanilla"

    def oracle_cost(self, b: int, step: int) -> int:
        extra = 0  # open-loop, or the short step with a given L: one loss_and_grad
        if self.step == "short" and self.L is None:
            extra = self._cap + (1 if self._M is None else 0)  # backtracking trials (+ the first curvature estimate)
        elif self.step == "line-search":
            extra = self._cap  # an hvp or one loss for the curvature, then at most cap - 1 Armijo checks
        return b * (1 + extra)

    # -- the run ---------------------------------------------------------------------------------
    def minimize(self, problem, budget: int, *, callback=None, progress: bool = False, journal=None, executor=None):
        """Run on a :class:`~optkit.StochasticProblem`, or a :class:`~optkit.Problem` with ``grad=``,
        for at most ``budget`` oracle calls (see :meth:`GradientOptimizer.minimize`)."""
        problem = self._as_stochastic(problem)
        if isinstance(problem, StochasticProblem) and self._w is None and problem.dim == self.dim:
            start = problem.w0 if self.x0 is None else np.asarray(self.x0, dtype=np.float64).reshape(-1)
            self._w = self._start(start)
            self._opt_state = self._transform.init(self._w.copy())
        self._stop, self._run_gaps = None, []
        res = super().minimize(problem, budget, callback=callback, progress=progress, journal=journal, executor=executor)
        if self._stop is not None and res.status == Status.BUDGET_EXHAUSTED:
            converged = self._stop.startswith("the Frank-Wolfe gap")
            res.update(status=Status.CONVERGED if converged else Status.BUDGET_EXHAUSTED, message=self._stop, success=True)
        return res

    def _as_stochastic(self, problem):
        if not isinstance(problem, Problem):
            return problem
        owner = f"{type(self).__name__}.minimize"
        if problem.grad is None:
            raise InvalidParameterError(
                f"{owner}: Frank-Wolfe needs the gradient; problem {problem.name!r} has none. Give Problem(..., grad=...), "
                "or use the gradient-free 'zo-frank-wolfe'"
            )
        if problem.constraints or problem.maximize or not isinstance(problem.space, Box):
            raise InvalidParameterError(
                f"{owner}: the Problem must be a minimization over a Box without black-box constraints (Frank-Wolfe's "
                "constraints are its 'lmo'; negate fun and grad to maximize)"
            )
        start = self.lmo_.start(problem.dim) if self.x0 is None else self.x0

        def loss(w, idx):
            return float(problem.evaluate(w[None, :])[0])

        def grad(w, idx):
            return np.asarray(problem.grad(w), dtype=np.float64)

        return StochasticProblem(loss, grad, 1, start, bounds=problem.space, name=problem.name)

    def _start(self, w) -> np.ndarray:
        w = np.asarray(w, dtype=np.float64).reshape(-1)
        if w.size != self.dim:
            return w  # the base class reports the dimension mismatch
        if self.lmo_.contains(w):
            x = w.copy()
        else:
            x = self.lmo_.project_start(w)
            self._start_projected = True
        if self._uses_active_set:
            self._S, self._alpha = [x.copy()], [1.0]
        return x

    def _project(self, w) -> np.ndarray:
        return self._start(w)

    def _fit_batch(self, b: int, remaining: int) -> int:
        if self._stop is None and self._max_iter is not None and self._t >= self._max_iter:
            self._stop = f"used max_iter = {self._max_iter} iterations"
        if self._stop is not None:
            return 0
        self._cap = MAX_TRIALS
        if self.batch_size is None:
            # the full batch or nothing (no stochastic tail step in a deterministic run); near the end of the
            # budget the step search gets fewer trials instead (it makes no move when they run out)
            if self.oracle_cost(b, self._t) > remaining:
                self._cap = 0
                self._cap = min(MAX_TRIALS, (remaining - self.oracle_cost(b, self._t)) // b)
                if self._cap < 1:
                    self._cap = MAX_TRIALS
                    return 0
            return b
        return super()._fit_batch(b, remaining)

    def _step(self, problem, w, idx):
        loss, g = problem.loss_and_grad(w, idx)
        self._last_loss = loss
        if not np.isfinite(loss) or not np.all(np.isfinite(g)):
            what = "loss" if not np.isfinite(loss) else "gradient"
            return f"non-finite minibatch {what} at iteration {self._t} (loss={loss!r})", w
        v, gap = self._vertex(g, w)
        self._run_gaps.append(np.nan if gap is None else gap)
        if gap is not None:
            self._gap, self._gap_at = gap, self._t
            if idx is None:
                self._dual = loss - gap if self._dual is None else max(self._dual, loss - gap)
                if gap <= self.tol:
                    self._stop = f"the Frank-Wolfe gap {gap:.3g} <= tol = {self.tol:g}"
                    return None, w
        d, gmax, away = self._direction(g, w, v)
        slope = float(g @ d)
        if not slope < 0.0:
            return None, w
        gamma = self._step_size(problem, w, d, loss, slope, gmax, idx)
        if gamma <= 0.0:
            return None, w
        if self._uses_active_set:
            self._update_active_set(v, away, gamma, gmax)
        w_new = w + gamma * d
        if not np.all(np.isfinite(w_new)):
            return f"non-finite update at iteration {self._t}", w
        return None, w_new

    def _vertex(self, g, w) -> tuple[np.ndarray, float | None]:
        """The FW vertex and the true gap (None when a lazy cache hit made the LMO call unnecessary)."""
        if self.lazy and self._phi is not None and self._S:
            V = np.array(self._S)
            gain = float(g @ w) - V @ g
            j = int(np.argmax(gain))
            if gain[j] >= self._phi / self.lazy_factor:
                return V[j].copy(), None
        v = self.lmo_.lmo(g)
        self._lmo_calls += 1
        gap = float(g @ (w - v))
        if self.lazy:
            self._phi = gap
            if not self._uses_active_set:
                self._S.append(v.copy())
                del self._S[:-CACHE_SIZE]
        return v, gap

    def _direction(self, g, w, v) -> tuple[np.ndarray, float, int | None]:
        """(direction, gamma_max, index of the away vertex or None for a FW step)."""
        if not self._uses_active_set:
            return v - w, 1.0, None
        V = np.array(self._S)
        j = int(np.argmax(V @ g))
        a, alpha = V[j], self._alpha[j]
        if self.variant == "pairwise":
            return v - a, alpha, j
        if float(g @ (w - v)) >= float(g @ (a - w)) or alpha >= 1.0:
            return v - w, 1.0, None
        return w - a, alpha / (1.0 - alpha), j

    def _step_size(self, problem, w, d, loss, slope, gmax, idx) -> float:
        if self.step == "open-loop":
            return min(2.0 / (self._t + 2.0), gmax)
        dd = float(d @ d)
        slack = 1e-13 * max(1.0, abs(loss))
        if self.step == "short":
            if self.L is not None:
                return min(-slope / (self.L * dd), gmax)
            if self._M is None:  # curvature along d from one loss value (Pedregosa et al. start from such an estimate)
                eps = min(1e-2, gmax)
                curv = 2.0 * (problem.loss(w + eps * d, idx) - loss - eps * slope) / (eps * eps * dd)
                M = curv if np.isfinite(curv) and curv > 0 else 1.0
            else:
                M = 0.9 * self._M
            for _ in range(self._cap):
                gamma = min(-slope / (M * dd), gmax)
                f_new = problem.loss(w + gamma * d, idx)
                if f_new <= loss + gamma * slope + 0.5 * gamma * gamma * M * dd + slack:
                    self._M = M
                    return gamma
                M *= 2.0
            self._M = M
            return 0.0
        known = None  # (gamma, f(w + gamma d)) already evaluated
        if problem.has_hvp:
            curv = float(d @ problem.hvp(w, d, idx))
        else:  # the curvature of the quadratic through f(w), its slope and f(w + gmax d): exact for a quadratic
            known = (gmax, problem.loss(w + gmax * d, idx))
            curv = 2.0 * (known[1] - loss - slope * gmax) / (gmax * gmax)
        gamma = min(-slope / curv, gmax) if curv > 0 else gmax
        checks = self._cap - 1
        while True:
            if known is not None and known[0] == gamma:
                f_new = known[1]
            elif checks > 0:
                f_new, checks = problem.loss(w + gamma * d, idx), checks - 1
            else:
                return 0.0
            if f_new <= loss + 1e-4 * gamma * slope + slack:
                return gamma
            gamma *= 0.5

    def _update_active_set(self, v, away, gamma, gmax) -> None:
        alpha = np.array(self._alpha)
        if away is None:  # FW step toward v
            if gamma >= 1.0 - 1e-12:
                self._S, self._alpha = [v.copy()], [1.0]
                return
            alpha *= 1.0 - gamma
            self._add(alpha, v, gamma)
            return
        if self.variant == "away":
            alpha *= 1.0 + gamma
            alpha[away] -= gamma
        else:
            alpha[away] -= gamma
            alpha = self._add(alpha, v, gamma)
        self._alpha = list(alpha)
        if gamma >= gmax * (1.0 - 1e-12) or alpha[away] <= 1e-14:  # a drop step
            del self._S[away], self._alpha[away]
        total = sum(self._alpha)
        self._alpha = [a / total for a in self._alpha]

    def _add(self, alpha: np.ndarray, v: np.ndarray, gamma: float) -> np.ndarray:
        for i, s in enumerate(self._S):
            if np.array_equal(s, v):
                alpha[i] += gamma
                break
        else:
            self._S.append(v.copy())
            alpha = np.append(alpha, gamma)
        self._alpha = list(alpha)
        return alpha

    # -- result and state ------------------------------------------------------------------------
    def _result(self, problem, history, status, message, nit, start, t0):
        res = super()._result(problem, history, status, message, nit, start, t0)
        res.update(gap=np.nan if self._gap is None else self._gap, gap_iteration=self._gap_at,
                   dual_bound=np.nan if self._dual is None else self._dual, gaps=np.array(self._run_gaps),
                   lmo_calls=self._lmo_calls, active_set_size=len(self._S) if self._uses_active_set else 0,
                   L_estimate=self.L if self.L is not None else self._M, start_projected=self._start_projected)
        return res

    def _get_state(self) -> dict:
        return {**super()._get_state(), "fw": {
            "S": np.array(self._S) if self._S else None, "alpha": np.array(self._alpha), "phi": self._phi, "M": self._M,
            "gap": self._gap, "gap_at": self._gap_at, "dual": self._dual, "lmo_calls": self._lmo_calls,
            "start_projected": self._start_projected}}

    def _set_state(self, state: dict) -> None:
        super()._set_state(state)
        fw = state["fw"]
        self._S = [] if fw["S"] is None else [np.array(s, dtype=np.float64) for s in fw["S"]]
        self._alpha = [float(a) for a in np.asarray(fw["alpha"]).reshape(-1)]
        self._phi, self._M, self._gap, self._dual = fw["phi"], fw["M"], fw["gap"], fw["dual"]
        self._gap_at, self._lmo_calls = int(fw["gap_at"]), int(fw["lmo_calls"])
        self._start_projected = bool(fw["start_projected"])


def _resolve_lmo(owner: str, space, lmo) -> LMO:
    """The feasible set: ``lmo``, or the space's finite box; a bounded space must contain the lmo's set."""
    if not isinstance(space, Box):
        raise InvalidParameterError(f"{owner}: the feasible set needs a real vector space (an optkit.Box); got {type(space).__name__}")
    d = space.dim
    if lmo is None:
        if not space.bounded:
            raise InvalidParameterError(
                f"{owner}: with lmo=None the space's box is the feasible set, but {space!r} is unbounded; give 'lmo' "
                "(e.g. optkit.zeroth_order.L1Ball(radius=1.0)) or finite bounds"
            )
        return BoxLMO(space.lower, space.upper)
    if isinstance(lmo, dict):
        lmo = from_spec(lmo)
    lmo.check_dim(d, owner)
    lo, hi = lmo.bounds(d)
    slack = 1e-12 * np.maximum(1.0, np.abs(hi - lo))
    if np.any(lo < space.lower - slack) or np.any(hi > space.upper + slack):
        raise InvalidParameterError(
            f"{owner}: the set of lmo={lmo!r} reaches outside the space {space!r} (it spans [{lo.min():g}, {hi.max():g}]); "
            "Frank-Wolfe keeps its iterates in the lmo's set and cannot project onto an intersection: give an unbounded "
            "space (e.g. Box(-inf, inf, dim=d)) or one that contains the set"
        )
    return lmo


def frank_wolfe(fun, grad, lmo: LMO, x0, *, variant: str = "vanilla", step: str = "short", L: float | None = None,
                lazy: bool = False, tol: float = 1e-7, max_iter: int = 1000, callback=None):
    """Minimize a smooth ``fun`` over the set of ``lmo`` by Frank-Wolfe; returns an optkit Result.

    Parameters
    ----------
    fun : callable ``fun(x) -> float``
    grad : callable ``grad(x) -> (d,)``
    lmo : LMO or dict
        The feasible set, e.g. ``L1Ball(radius=1.0)`` (see :mod:`optkit.zeroth_order.lmo`), or its spec.
    x0 : array (d,)
        The start; projected onto the set if outside (``res.start_projected``).
    variant, step, L, lazy, tol
        As in :class:`FrankWolfe`.
    max_iter : int
        The most iterations (one gradient and at most one LMO call each).
    callback : callable, optional
        ``callback(result)`` after every iteration; True or ``StopIteration`` stops.

    Returns
    -------
    Result
        ``x`` the last iterate, ``fun`` f(x), ``nit`` iterations, ``nfev`` function plus gradient
        calls, ``status`` CONVERGED when the gap reached ``tol``; and ``gap`` (the certificate
        ``f(x_k) - f* <= gap`` at iterate ``gap_iteration``), ``dual_bound`` (<= f* for convex f),
        ``gaps`` (per iteration, NaN where a lazy step skipped the LMO), ``lmo_calls``.
    """
    validate("frank_wolfe", "max_iter", max_iter, [Interval(int, 1, None)])
    if not callable(fun) or not callable(grad):
        raise InvalidParameterError(f"frank_wolfe: 'fun' and 'grad' must be callable; got {fun!r:.60}, {grad!r:.60}")
    validate("frank_wolfe", "lmo", lmo, [LMO_CONSTRAINT])
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.ndim != 1 or not np.all(np.isfinite(x0)):
        raise InvalidParameterError(f"frank_wolfe: 'x0' must be a finite 1-D array; got shape {x0.shape}")
    problem = StochasticProblem(lambda w, idx: float(fun(w)), lambda w, idx: np.asarray(grad(w), dtype=np.float64),
                                1, x0, name=getattr(fun, "__name__", "fun"))
    opt = FrankWolfe(Box(-np.inf, np.inf, dim=x0.size), lmo=lmo, variant=variant, step=step, L=L, lazy=lazy, tol=tol)
    opt._max_iter = max_iter
    return opt.minimize(problem, max_iter * opt.oracle_cost(1, 0), callback=callback)


__all__ = ["FrankWolfe", "frank_wolfe"]

"""CONFIG: constrained optimization by optimistic lower confidence bounds, with an infeasibility certificate.

Xu, Jiang, Svetozarevic, Jones, "Constrained Efficient Global Optimization of Expensive Black-box
Functions", ICML 2023. The objective ``f`` and every constraint ``g_i`` (feasible when ``g_i <= 0``)
get their own GP; with ``LCB_h(x) = mu_h(x) - sqrt(beta_n) sigma_h(x)`` each step evaluates

    x_n in argmin { LCB_f(x) : x in F_n },    F_n = { x : LCB_g_i(x) <= 0 for every i }

the minimizer of the objective's lower bound over the *optimistic* feasible set. While the models
are right (the true functions lie above their LCBs, the event the confidence width is chosen for),
``F_n`` contains the true feasible set and ``min LCB_f <= f*``: this optimism gives the paper's
regret and violation bounds, and makes an empty ``F_n`` a certificate that the problem is
infeasible. Then the run stops with ``Status.INFEASIBLE`` and the evidence in the result.

Here:

* ``beta_n``: the paper's analysis uses ``sqrt(beta_n) = B + R sqrt(2 (gamma_{n-1} + 1 +
  ln((m + 1) / delta)))``, which needs the functions' RKHS norm ``B`` and the information gain
  ``gamma``, unknown in practice; the paper's experiments (and its code) use a constant
  ``sqrt(beta) = 3``. The default ``beta=9.0`` is that constant; ``beta="schedule"`` grows it as
  ``beta_n = 2 ln((m + 1) d n^2 pi^2 / (6 delta))`` with ``delta = 0.1`` (the GP-UCB form of
  Srinivas et al. 2010 with the paper's union bound over the m + 1 functions).
* ``argmin`` over ``F_n``: scrambled-Sobol candidates, points around the best observed ones and the
  observed points themselves are scored; the optimistic-feasible ones start a local search of
  ``-LCB_f - 1000 sum_i max(LCB_g_i, 0)`` (an exact penalty in standardized units, through
  :func:`~optkit.bayesopt.acquisition.local_search`, so integer and categorical columns are
  searched); the best results are polished by SLSQP on the continuous columns with the constraints
  ``LCB_g_i <= 0`` kept exactly.
* emptiness: when no candidate nor local-search result is optimistic-feasible, ``max_i LCB_g_i /
  s_i`` (``s_i`` the constraint's observed standard deviation, which keeps the sign) is minimized by
  a local search from the least-violating candidates. If its minimum is still > 0 the set is
  empty, and the next point is that least-violating one (a probe where feasibility is most
  plausible). The paper declares infeasibility at the first empty set; here the set must be found
  empty at ``declare_after`` consecutive checks (default 3, so two probes must fail too): a GP
  fitted to a few nearly constant constraint values is confident too early (on the spring design
  problem, 6 Sobol points with ``g_1`` in [0.972, 1.0] make ``LCB_g_1 > 0.95`` everywhere although
  the problem is feasible, and the first probe finds ``g_1 < 0``); and a probe whose observed ``g_i``
  falls below the ``LCB_g_i`` predicted there (the models were overconfident) starts the count
  again (spring, seed 6: three empty checks in a row after 5 points, with every probe infeasible but
  below its bound; the run then found feasible points). Then :meth:`CONFIG.infeasibility`
  returns the evidence, ``stop_reason()`` a message, ``stop_status()`` ``Status.INFEASIBLE``. An
  observed feasible point rules the declaration out.
* pending points and ``ask(n)``: every model (objective and constraints) is conditioned on the
  pending points at its posterior mean (the kriging believer), which collapses the confidence
  width there; a batch is built greedily the same way. The declaration uses the told data only.
* determinism: the candidates' random numbers come from a seed drawn at construction and the data
  size, and each GP fit starts from the previous data size's hyperparameters, so a loaded state,
  a resumed journal and a ``stop_reason()`` call before ``ask()`` all give the same points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize as _scipy_minimize

from optkit.bayesopt._torch import DTYPE, compute, tensor
from optkit.bayesopt.acquisition import (
    MixedSpec,
    _select_starts,
    believer,
    evaluate,
    local_search,
    perturb,
    sobol_points,
)
from optkit.bayesopt.bo import BO, WARM_START
from optkit.bayesopt.models import GP, fit_gp
from optkit.core.errors import InvalidParameterError
from optkit.core.optimizer import Optimizer
from optkit.core.params import Interval, Options
from optkit.core.registry import register

#: weight of the exact penalty on optimistic violations (standardized units)
PENALTY = 1e3
#: a point is optimistically feasible when max_i LCB_g_i / s_i <= this (standardized units)
FEAS_TOL = 1e-6
#: confidence of ``beta="schedule"``
SCHEDULE_DELTA = 0.1


def signed_log(g):
    """``sign(g) log(1 + |g|)``: monotone, zero at zero (feasibility is kept), tames heavy tails."""
    g = np.asarray(g, dtype=np.float64)
    return np.sign(g) * np.log1p(np.abs(g))


def signed_exp(t):
    """The inverse of :func:`signed_log`."""
    t = np.asarray(t, dtype=np.float64)
    return np.sign(t) * np.expm1(np.abs(t))


# -- confidence bounds and the two acquisitions ----------------------------------------------------
def lcb(model: GP, X, sqrt_beta: float) -> torch.Tensor:
    """``mean - sqrt_beta * std`` of ``model`` at X (..., d), in y's units (torch, differentiable)."""
    mean, var = model.posterior(X if isinstance(X, torch.Tensor) else tensor(X))
    return mean - sqrt_beta * var.sqrt()


def _check_q1(X, who: str) -> torch.Tensor:
    X = X if isinstance(X, torch.Tensor) else tensor(X)
    if X.ndim < 2 or X.shape[-2] != 1:
        raise InvalidParameterError(f"{who} takes X of shape (..., 1, d); got {tuple(X.shape)}")
    return X


class OptimisticLCB:
    """``-LCB_f(x)`` standardized, minus ``PENALTY * sum_i max(LCB_g_i(x) / s_i, 0)``; larger is better.

    Equal to ``-(LCB_f - y_mean) / y_std`` on the optimistic feasible set; the penalty is exact there
    (its weight exceeds the multipliers of standardized problems by orders of magnitude).
    """

    is_log = False

    def __init__(self, model: GP, constraints: list[GP], sqrt_beta: float, penalty: float = PENALTY,
                 sqrt_beta_f: float | None = None):
        self.model, self.constraints = model, list(constraints)
        self.sqrt_beta, self.penalty = float(sqrt_beta), float(penalty)
        self.sqrt_beta_f = self.sqrt_beta if sqrt_beta_f is None else float(sqrt_beta_f)

    def __call__(self, X) -> torch.Tensor:
        X = _check_q1(X, "OptimisticLCB")
        m = self.model
        out = -(lcb(m, X, self.sqrt_beta_f) - m.y_mean) / m.y_std
        for c in self.constraints:
            out = out - self.penalty * torch.relu(lcb(c, X, self.sqrt_beta) / c.y_std)
        return out.squeeze(-1)


class MaxLCBViolation:
    """``-max_i LCB_g_i(x) / s_i`` (larger is better): positive exactly on the optimistic feasible set."""

    is_log = False

    def __init__(self, constraints: list[GP], sqrt_beta: float):
        if not constraints:
            raise InvalidParameterError("MaxLCBViolation needs at least one constraint model")
        self.constraints, self.sqrt_beta = list(constraints), float(sqrt_beta)

    def __call__(self, X) -> torch.Tensor:
        X = _check_q1(X, "MaxLCBViolation")
        vals = torch.stack([lcb(c, X, self.sqrt_beta) / c.y_std for c in self.constraints], dim=0)
        return -vals.amax(dim=0).squeeze(-1)


def optimistic_feasible(constraints: list[GP], U, sqrt_beta: float) -> np.ndarray:
    """Boolean mask (n,) of the points U (n, d) with ``LCB_g_i <= 0`` for every constraint model."""
    U = np.array(U, dtype=np.float64, ndmin=2)
    if not constraints:
        return np.ones(U.shape[0], dtype=bool)
    return -evaluate(MaxLCBViolation(constraints, sqrt_beta), U) <= FEAS_TOL


# -- one CONFIG step ---------------------------------------------------------------------------------
@dataclass
class Selection:
    """The outcome of :func:`select`.

    ``x`` (d,): the next point (unit cube); ``empty``: no optimistic-feasible point was found by the
    candidates and the local search of the violation; ``min_max_lcb``: the smallest ``max_i LCB_g_i
    / s_i`` found (standardized; <= 0 unless empty; -inf without constraints); ``at`` (d,): where it
    was found; ``n_candidates``: points scored.
    """

    x: np.ndarray
    empty: bool
    min_max_lcb: float
    at: np.ndarray
    n_candidates: int


def select(model: GP, constraints: list[GP], spec: MixedSpec, rng: np.random.Generator, *, sqrt_beta: float,
           sqrt_beta_f: float | None = None, raw_samples: int = 1024, n_restarts: int = 10,
           extra_starts=None) -> Selection:
    """One CONFIG step: minimize ``LCB_f`` over ``{x : LCB_g_i(x) <= 0}`` (see the module docstring).

    ``sqrt_beta`` is the constraints' width, ``sqrt_beta_f`` the objective's (default the same; a
    negative width turns a lower bound into an upper one). ``extra_starts`` (k, d) are scored with
    ``raw_samples`` Sobol points (e.g. the observed points and points around the best ones); the
    Sobol scrambling and the start sampling use ``rng``.
    """
    sbf = float(sqrt_beta) if sqrt_beta_f is None else float(sqrt_beta_f)
    with compute():
        return _select(model, list(constraints), spec, rng, float(sqrt_beta), sbf, raw_samples, n_restarts, extra_starts)


def _select(model, cons, spec, rng, sb, sbf, raw_samples, n_restarts, extra) -> Selection:
    raw = spec.snap(sobol_points(raw_samples, spec.dim, rng))
    cand = raw if extra is None or len(extra) == 0 else np.vstack([raw, spec.snap(extra)])
    acq = OptimisticLCB(model, cons, sb, sqrt_beta_f=sbf)
    value = evaluate(OptimisticLCB(model, [], sb, sqrt_beta_f=sbf), cand)  # -LCB_f, standardized
    if cons:
        viol = -evaluate(MaxLCBViolation(cons, sb), cand)
    else:
        viol = np.full(cand.shape[0], -np.inf)
    feas = viol <= FEAS_TOL
    min_viol, at = float(np.min(viol)), cand[int(np.argmin(viol))]
    if feas.any():
        x = _optimize_lcb(acq, model, cons, (sb, sbf), spec, cand, np.where(feas, value, -np.inf), raw.shape[0], n_restarts, rng)
        if x is not None:
            return Selection(x, False, min_viol, at, cand.shape[0])
    # nothing optimistic-feasible among the candidates: minimize max_i LCB_g_i / s_i from the least violating
    worst = MaxLCBViolation(cons, sb)
    order = np.argsort(viol, kind="stable")[: max(n_restarts, 1)]
    ls = np.min([c.lengthscale for c in cons], axis=0)
    Xv, vv = local_search(worst, cand[order], spec, lengthscale=ls)
    i = int(np.argmax(vv))
    min_viol, at = float(-vv[i]), Xv[i].copy()
    n_cand = cand.shape[0] + Xv.shape[0]
    if min_viol <= FEAS_TOL:  # the search reached the optimistic feasible set: minimize the LCB from there
        ok = -vv <= FEAS_TOL
        starts = np.vstack([Xv[ok], cand[feas]]) if feas.any() else Xv[ok]
        vals = evaluate(acq, starts)
        x = _optimize_lcb(acq, model, cons, (sb, sbf), spec, starts, vals, starts.shape[0], n_restarts, rng)
        return Selection(x if x is not None else at, False, min_viol, at, n_cand)
    return Selection(at, True, min_viol, at, n_cand)


def _optimize_lcb(acq, model, cons, widths, spec, cand, vals, n_raw, n_restarts, rng) -> np.ndarray | None:
    """Local searches of ``acq`` from optimistic-feasible candidates (vals = -inf elsewhere), polished."""
    must = [int(np.argmax(vals[:n_raw]))]
    if cand.shape[0] > n_raw:
        must.append(n_raw + int(np.argmax(vals[n_raw:])))
    idx = _select_starts(vals, n_restarts, rng, must)
    idx = idx[np.isfinite(vals[idx])]
    X, v = local_search(acq, cand[idx], spec, lengthscale=model.lengthscale)
    X, v = np.vstack([X, cand[idx]]), np.concatenate([v, vals[idx]])  # the starts themselves stay candidates
    if cons:
        for i in np.argsort(-v, kind="stable")[:1]:
            xp = _polish(model, cons, widths, spec, X[i], model.lengthscale)
            if xp is not None:
                X, v = np.vstack([X, xp]), np.concatenate([v, evaluate(acq, xp[None, :])])
        ok = optimistic_feasible(cons, X, widths[0])
        if not ok.any():
            return None
        v = np.where(ok, v, -np.inf)
    return X[int(np.argmax(v))].copy()


def _polish(model, cons, widths, spec, x0, lengthscale) -> np.ndarray | None:
    """SLSQP on the continuous columns: min LCB_f s.t. LCB_g_i <= 0, from x0; None if it fails."""
    cols = spec.continuous
    if not cols:
        return None
    sb, sbf = widths
    s = np.clip(np.asarray(lengthscale, dtype=np.float64)[cols], 1e-2, 1e1)
    cols_t, s_t, base = torch.tensor(cols, dtype=torch.long), tensor(s), tensor(x0)
    memo: dict = {}

    def outputs(w):
        key = np.asarray(w, dtype=np.float64).tobytes()
        if key not in memo:
            memo.clear()
            # one copy of w per output: a single backward pass gives every output's gradient
            wt = torch.tensor(np.tile(np.asarray(w, dtype=np.float64), (len(cons) + 1, 1)), dtype=DTYPE,
                              requires_grad=True)
            with torch.enable_grad():
                X = base.repeat(len(cons) + 1, 1)
                X[:, cols_t] = wt * s_t
                X = X.unsqueeze(-2)
                outs = [(lcb(model, X[0], sbf).sum() - model.y_mean) / model.y_std]
                outs += [lcb(c, X[i + 1], sb).sum() / c.y_std for i, c in enumerate(cons)]
                torch.stack(outs).sum().backward()
            vals = np.array([float(o.detach()) for o in outs])
            memo[key] = (vals, list(wt.grad.numpy().copy()))
        return memo[key]

    con = [{"type": "ineq", "fun": (lambda w, i=i: -outputs(w)[0][i]), "jac": (lambda w, i=i: -outputs(w)[1][i])}
           for i in range(1, len(cons) + 1)]
    try:
        res = _scipy_minimize(lambda w: outputs(w)[0][0], x0[cols] / s, jac=lambda w: outputs(w)[1][0],
                              method="SLSQP", bounds=[(0.0, 1.0 / sj) for sj in s], constraints=con,
                              options={"maxiter": 50, "ftol": 1e-12})
    except (ValueError, RuntimeError, FloatingPointError, ArithmeticError):
        return None
    if not np.all(np.isfinite(res.x)):
        return None
    x = x0.copy()
    x[cols] = np.clip(res.x * s, 0.0, 1.0)
    return spec.snap(x)[0]


# -- the optimizer --------------------------------------------------------------------------------
@register("config", family="bayesopt")
class CONFIG(BO):
    """CONFIG: minimize the objective's lower confidence bound over the optimistic feasible set.

    When to use: an expensive black box with expensive black-box constraints (``g(x) <= 0``
    feasible, told with ``tell(X, y, constraints)`` or given as ``Problem(..., constraints=[...])``)
    when you want a method with regret and violation guarantees that also tells you when the problem
    is infeasible instead of spending the budget. Without constraints it is GP-LCB.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    beta : float or "schedule"
        Squared width of the confidence bounds: ``LCB = mean - sqrt(beta) * std``. Default 9 (the
        constant ``sqrt(beta) = 3`` of the paper's experiments); ``"schedule"``: ``beta_n = 2 ln((m
        + 1) d n^2 pi^2 / (6 * 0.1))`` after n observations with m constraints. A larger beta is
        more optimistic: slower to declare infeasibility, more exploration.
    declare_after : int or None
        Declare the problem infeasible (stop with ``Status.INFEASIBLE``) when the optimistic
        feasible set was empty at this many consecutive checks (one per observation; each empty
        one evaluates the point of least optimistic violation). 1 is the paper's rule; None never
        declares, and the run goes on probing the least-violating points.
    exploit_every : int
        0: every model-based point is the paper's step. k > 0 (default 5): every k-th one instead
        minimizes the posterior *mean* of f over ``{UCB_g_i <= 0}`` (points believed feasible),
        when that set is not empty and its minimizer is new. The paper's points sit on the
        optimistic side of active constraints (``g = 3 sigma > 0`` there), so the best *feasible*
        value improves slowly; these steps approach the boundary from the feasible side.
    constraint_transform : {"signed_log", "none"}
        What the constraint GPs model: ``sign(g) log(1 + |g|)`` (default; monotone and zero at
        zero, so ``LCB <= 0`` means the same, and the heavy tails of engineering constraints, stresses
        that run to 1e6 near a thin design, stop dominating the fit) or the raw values.
    n_init, noise, batch, n_restarts, raw_samples, warm_start, seed
        As for :class:`~optkit.bayesopt.bo.BO` (``n_restarts`` local searches per step, from
        ``raw_samples`` Sobol candidates plus points around the best observed ones).

    Notes
    -----
    :meth:`infeasibility` returns the evidence of a declaration (or None), also in the ``Result`` as
    ``res.infeasibility``. A point whose evaluation failed under ``on_error="penalize"`` is told to
    the constraint models as violating every constraint by at least 1 (the loop's policy); use
    ``on_error="skip"`` when failures say nothing about feasibility.

    Examples
    --------
    >>> import optkit
    >>> p = optkit.Problem(lambda x: float(x[0] + x[1]), optkit.Box(0, 1, dim=2),
    ...                    constraints=[lambda x: float(0.5 - x[0] ** 2 - x[1] ** 2)])
    >>> res = optkit.minimize(p, method="config", budget=25, seed=0)
    >>> bool(res.success and abs(res.fun - 0.5 ** 0.5) < 0.01)
    True
    >>> bad = optkit.Problem(lambda x: float(x[0]), optkit.Box(0, 1, dim=2), constraints=[lambda x: 1.0 + x[1] ** 2])
    >>> res = optkit.minimize(bad, method="config", budget=30, seed=0)
    >>> res.status == optkit.Status.INFEASIBLE, res.infeasibility["min_max_lcb"] > 0
    (True, True)
    """

    _parameter_constraints = {
        "beta": [Interval(float, 0, None, closed="neither"), Options({"schedule"})],
        "declare_after": [Interval(int, 1, None), None],
        "exploit_every": [Interval(int, 0, None)],
        "constraint_transform": [Options({"signed_log", "none"})],
        "n_init": [Interval(int, 1, None), None],
        "noise": [Options({"fixed", "infer"}), Interval(float, 0, None, closed="neither")],
        "batch": [Interval(int, 1, None)],
        "n_restarts": [Interval(int, 1, None)],
        "raw_samples": [Interval(int, 1, None)],
        "warm_start": [None, WARM_START],
    }

    def __init__(self, space, *, beta=9.0, declare_after: int | None = 3, exploit_every: int = 5,
                 constraint_transform: str = "signed_log", n_init: int | None = None, noise="fixed", batch: int = 1, n_restarts: int = 10,
                 raw_samples: int = 1024, warm_start=None, seed=None):
        Optimizer.__init__(self, space, seed=seed, beta=beta, declare_after=declare_after,
                           exploit_every=exploit_every, constraint_transform=constraint_transform,
                           n_init=n_init, noise=noise, batch=batch, n_restarts=n_restarts,
                           raw_samples=raw_samples, warm_start=warm_start)
        self._fit_n = -1          # data size of the last fit; its init hyperparameters below
        self._init_f: dict | None = None
        self._init_c: list = []
        self._plan_cache: tuple | None = None
        self._empty_streak, self._streak_n = 0, -1  # consecutive empty checks, data size of the last one
        self._probe: dict | None = None  # the last empty check's probe: where, and its constraints' LCBs there
        self._setup()
        self._plan_seed = int(self.rng.integers(2**63 - 1))

    # -- confidence width ------------------------------------------------------------------------
    def _n_constraints(self) -> int:
        return 0 if self._C is None else self._C.shape[1]

    def beta_n(self) -> float:
        """The beta of the next step (n = observations told so far)."""
        if self.beta != "schedule":
            return float(self.beta)
        n = max(self._y.size, 1)
        return 2.0 * math.log((self._n_constraints() + 1) * self.dim * n * n * math.pi**2 / (6.0 * SCHEDULE_DELTA))

    # -- models ----------------------------------------------------------------------------------
    def _models(self) -> tuple[GP, list[tuple[int, GP]]]:
        """The objective's GP and ``(j, GP)`` for every constraint with >= 2 finite values; cached per data size.

        A fit at a new data size starts from the previous fit's hyperparameters; the init used is
        kept in the state, so a loaded state refits exactly the same models.
        """
        n = self._y.size
        if self._cache is not None and self._cache[0] == n:
            return self._cache[1], self._cache[2]
        if self._fit_n != n:
            self._init_f, self._init_c = self._hyper, list(self._hyper_c)
        cats = self._spec.categorical
        gp = fit_gp(self._U, self._y, categorical=cats, noise=self.noise, init=self._init_f)
        cons, hyper_c = [], []
        for j in range(self._n_constraints()):
            ok = np.isfinite(self._C[:, j])
            init = self._init_c[j] if j < len(self._init_c) else None
            if ok.sum() >= 2:
                gj = self._C[ok, j] if self.constraint_transform == "none" else signed_log(self._C[ok, j])
                c = fit_gp(self._U[ok], gj, categorical=cats, noise=self.noise, init=init)
                cons.append((j, c))
                hyper_c.append(c.hyperparameters())
            else:
                hyper_c.append(None)
        self._hyper, self._hyper_c, self._fit_n = gp.hyperparameters(), hyper_c, n
        self._cache = (n, gp, cons)
        return gp, cons

    def _fit_models(self) -> tuple[GP, list[GP]]:
        gp, cons = self._models()
        return gp, [c for _, c in cons]

    # -- the step ----------------------------------------------------------------------------------
    def _extra_starts(self, gp: GP, rng: np.random.Generator) -> np.ndarray:
        """The observed points, and points around the 4 best (feasible first, then least violating)."""
        if self._C is None:
            key = (np.zeros(self._y.size), self._y)
        else:
            v = np.where(np.isfinite(self._C), self._C, np.inf).max(axis=1)
            key = (np.maximum(v, 0.0), self._y)
        order = np.lexsort((key[1], key[0]))
        top = self._U[order[: min(4, order.size)]]
        ls = np.clip(gp.lengthscale, 1e-3, 1.0)
        return np.vstack([self._U, perturb(top, 32, rng, 0.1 * ls), perturb(top, 32, rng, 0.01 * ls)])

    def _step(self, gp: GP, cons: list[GP], n_pending: int) -> Selection:
        rng = np.random.default_rng([self._plan_seed, self._y.size, n_pending])
        return select(gp, cons, self._spec, rng, sqrt_beta=math.sqrt(self.beta_n()), raw_samples=self.raw_samples,
                      n_restarts=self.n_restarts, extra_starts=self._extra_starts(gp, rng))

    def _plan(self) -> Selection:
        """The step on the told data (no pending points), cached per data size."""
        n = self._y.size
        if self._plan_cache is None or self._plan_cache[0] != n:
            with compute():
                gp, cons = self._fit_models()
                sel = self._step(gp, cons, 0)
            self._plan_cache = (n, sel)
            if n > self._streak_n:  # counted once per data size, also across a state reload
                if not sel.empty or self._surprised():
                    self._empty_streak = 0
                else:
                    self._empty_streak += 1
                self._probe = self._probe_bounds(sel.x, n) if sel.empty else None
                self._streak_n = n
        return self._plan_cache[1]

    def _probe_bounds(self, x: np.ndarray, n: int) -> dict:
        """Each constraint model's optimistic bound (LCB, in its own units) at the probe ``x``."""
        sb = math.sqrt(self.beta_n())
        lcb = {}
        for j, c in self._models()[1]:
            m, v = c.predict(x[None, :])
            lcb[int(j)] = float(m[0] - sb * math.sqrt(max(float(v[0]), 0.0)))
        return {"n": int(n), "x": [float(v) for v in x], "lcb": lcb}

    def _surprised(self) -> bool:
        """Whether the last probe's observed constraint values fell below their optimistic bounds: the
        constraint models were overconfident, so an empty optimistic set is no certificate yet and the
        count of empty checks starts again (spring design problem, seed 6: 5 Sobol points with nearly
        constant g made the set empty at three checks in a row although the problem is feasible)."""
        p = self._probe
        if p is None or self._C is None or self._y.size <= p["n"]:
            return False
        rows = np.flatnonzero(np.abs(self._U[p["n"]:] - np.asarray(p["x"])).max(axis=1) < 1e-9)
        if rows.size == 0:
            return False
        g = self._C[p["n"] + rows[0]]
        for j, bound in p["lcb"].items():
            gj = g[j] if self.constraint_transform == "none" else signed_log(g[j])
            if np.isfinite(gj) and gj < bound:
                return True
        return False

    def _exploit(self, gp: GP, cons: list[GP], n_pending: int) -> np.ndarray | None:
        """The point of least posterior mean among those with ``UCB_g_i <= 0`` (believed feasible), or
        None when there is none or it was evaluated already."""
        rng = np.random.default_rng([self._plan_seed, self._y.size, n_pending, 1])
        sel = select(gp, cons, self._spec, rng, sqrt_beta=-math.sqrt(self.beta_n()), sqrt_beta_f=0.0,
                     raw_samples=self.raw_samples, n_restarts=self.n_restarts, extra_starts=self._extra_starts(gp, rng))
        if sel.empty or np.min(np.abs(self._U - sel.x).max(axis=1)) < 1e-6:
            return None
        return sel.x

    def _suggest_points(self, n: int, pending: np.ndarray) -> np.ndarray:
        chosen = []
        for _ in range(n):
            P = np.vstack([pending] + chosen) if chosen else pending
            gp, cons = self._fit_models()
            if P.shape[0]:
                gp, cons = believer(gp, P), [believer(c, P) for c in cons]
            x = None
            t = self._y.size + P.shape[0] - self.n_init_effective  # index of this model-based point
            if self.exploit_every and t % self.exploit_every == self.exploit_every - 1:
                x = self._exploit(gp, cons, P.shape[0])
            if x is None:
                x = self._plan().x if P.shape[0] == 0 else self._step(gp, cons, P.shape[0]).x
            chosen.append(x[None, :])
        return np.vstack(chosen)

    # -- infeasibility -----------------------------------------------------------------------------
    def _in_model_phase(self) -> bool:
        return self._y.size >= 2 and self.n_init_effective - self._n_warm - self._sobol_drawn <= 0

    def infeasibility(self) -> dict | None:
        """The evidence of an infeasibility declaration, or None (no declaration, or ``declare_after=None``).

        After the initial design, on the told data: when the optimistic feasible set is empty (no
        candidate of the acquisition search, nor the local search of ``max_i LCB_g_i``, reaches
        ``LCB_g_i <= 0`` for all i) at ``declare_after`` consecutive checks and no told point is
        feasible, a dict ``{"min_max_lcb": the largest LCB_g_i at "at" (constraint units), "at":
        that point (user space), "lcb": every LCB_g_i there, "min_max_lcb_standardized", "beta",
        "n_observations", "empty_checks", "n_candidates"}``. Computing it costs one step of the
        method, which the next ``ask()`` reuses.
        """
        if self.declare_after is None or self._C is None or not self._in_model_phase() or self._feasible().any():
            return None
        sel = self._plan()
        if not sel.empty or self._empty_streak < self.declare_after:
            return None
        _, cons = self._models()
        beta = self.beta_n()
        u = sel.at[None, :]
        with compute(), torch.no_grad():
            vals = [float(lcb(c, tensor(u), math.sqrt(beta))[0]) for _, c in cons]
        if self.constraint_transform == "signed_log":  # back to the constraints' units (monotone)
            vals = [float(signed_exp(v)) for v in vals]
        lcbs = [None] * self._n_constraints()
        for (j, _), v in zip(cons, vals):
            lcbs[j] = v
        x = self.space.decode(self._from_unit(u))[0]
        return {"min_max_lcb": max(vals), "at": x.tolist(), "lcb": lcbs,
                "min_max_lcb_standardized": sel.min_max_lcb, "beta": beta,
                "n_observations": int(self._y.size), "empty_checks": int(self._empty_streak),
                "n_candidates": int(sel.n_candidates)}

    def stop_reason(self) -> str | None:
        ev = self.infeasibility()
        if ev is None:
            return None
        return (f"declared infeasible: the optimistic feasible set {{x : LCB_g_i(x) <= 0 for all i}} was empty at "
                f"{ev['empty_checks']} consecutive checks, the last after {ev['n_observations']} observations (min over x of max_i LCB_g_i = {ev['min_max_lcb']:.4g} > 0 "
                f"at {np.round(ev['at'], 6).tolist()}, beta = {ev['beta']:.4g})")

    def stop_status(self):
        from optkit.core.result import Status

        return Status.INFEASIBLE

    def result_extras(self) -> dict:
        return {"infeasibility": self.infeasibility()}

    # -- state -----------------------------------------------------------------------------------
    def _get_state(self) -> dict:
        state = super()._get_state()
        state.update({"plan_seed": self._plan_seed, "fit_n": self._fit_n, "init_f": self._init_f,
                      "init_c": list(self._init_c), "empty_streak": self._empty_streak, "streak_n": self._streak_n,
                      "probe": None if self._probe is None else {**self._probe, "lcb": {str(k): v for k, v in self._probe["lcb"].items()}}})
        return state

    def _set_state(self, state: dict) -> None:
        super()._set_state(state)
        self._plan_seed = int(state["plan_seed"])
        self._fit_n = int(state["fit_n"])
        self._init_f = state["init_f"]
        self._init_c = list(state["init_c"])
        self._empty_streak, self._streak_n = int(state["empty_streak"]), int(state["streak_n"])
        p = state.get("probe")
        self._probe = None if p is None else {**p, "lcb": {int(k): float(v) for k, v in p["lcb"].items()}}
        self._plan_cache = None

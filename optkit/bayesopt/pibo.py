"""piBO: GP-BO whose acquisition is weighted by the user's belief about where the optimum lies.

Hvarfner, Stoll, Souza, Lindauer, Hutter, Nardi, "piBO: Augmenting acquisition functions with user
beliefs for Bayesian optimization", ICLR 2022: the next point maximizes

    alpha(x) * pi(x) ** (beta / n)

with ``alpha`` the usual acquisition (here log EI, so the product is a sum of logs), ``pi`` the
user's density over the optimum's location and ``n`` the number of observations: early on the
prior steers the search, later the data. With any prior the method keeps EI's convergence
guarantee (the paper's theorem); a wrong prior costs some evaluations, not the convergence.

The prior is a JSON-friendly spec in the **user's space** (``prior=None`` is flat: plain ``bo``):

* ``{"type": "gaussian", "mean": [...], "std": [...]}``: independent per dimension. A Real or
  Integer dimension gets a normal N(mean, std) truncated to its bounds (for a ``log=True``
  dimension the normal is on log(x): ``std`` in natural-log units, ``mean`` a value of x); a
  ``null`` mean leaves that dimension flat; a Categorical dimension takes the preferred *choice*
  as ``mean`` and the probability of that choice as ``std`` (the other choices share the rest
  evenly; ``null`` is flat).
* ``{"type": "box", "lower": [...], "upper": [...], "weight": 0.9}``: a preference for a sub-box:
  the density is ``weight`` spread uniformly over the sub-box plus ``1 - weight`` spread over the
  whole space (bounds as user values, categories by index).

A prior that puts no mass inside the search space (a mean far outside the bounds, a box that
misses the space) is an :class:`~optkit.InvalidParameterError`. The initial design is drawn from
the prior (scrambled Sobol points through the prior's quantiles; the paper's experiments also
start from prior samples), and the same Sobol points as ``bo`` under a flat prior.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import ndtr, ndtri

from optkit.bayesopt._torch import DTYPE
from optkit.bayesopt.bo import BO, WARM_START
from optkit.core.errors import InvalidParameterError
from optkit.core.optimizer import Optimizer
from optkit.core.params import Interval, Options, Predicate
from optkit.core.registry import register
from optkit.core.space import Box, Categorical, Integer, Real

#: a prior whose mass inside the space is below this is rejected as "no mass in the box"
MIN_MASS = 1e-10

PRIOR = Predicate(lambda v: isinstance(v, dict) and v.get("type") in ("gaussian", "box"),
                  "None or a dict {'type': 'gaussian', 'mean': [...], 'std': [...]} or "
                  "{'type': 'box', 'lower': [...], 'upper': [...], 'weight': w}")


def _dims(space) -> list:
    """The space's dimensions as Real/Integer/Categorical objects (a Box as Reals)."""
    if isinstance(space, Box):
        return [Real(lo, hi) for lo, hi in zip(space.lower, space.upper)]
    return list(space.params.values())


class _Gaussian1D:
    """A normal N(mu, sd) on one dimension's coordinate t (x, or log x for log dims), truncated."""

    def __init__(self, dim, mu: float, sd: float, j: int):
        self.dim, self.j = dim, j
        if isinstance(dim, Integer):
            lo, hi = dim.low - 0.5, dim.high + 0.5
        else:
            lo, hi = dim.low, dim.high
        self.log = dim.log
        if self.log:
            if mu <= 0:
                raise InvalidParameterError(f"PiBO: prior mean {mu!r} of log-scaled dimension {j} must be > 0")
            lo, hi, mu = math.log(max(lo, 1e-300)), math.log(hi), math.log(mu)
        self.lo, self.hi, self.mu, self.sd = lo, hi, mu, sd
        self.c_lo, self.c_hi = ndtr((lo - mu) / sd), ndtr((hi - mu) / sd)
        self.mass = float(self.c_hi - self.c_lo)
        # unit-cube coordinate u -> t is affine for every Real/Integer encoding: t = a + u * (b - a)
        self.a, self.b = lo, hi

    def log_density(self, u: torch.Tensor) -> torch.Tensor:
        t = self.a + u * (self.b - self.a)
        return -0.5 * ((t - self.mu) / self.sd) ** 2

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Unit-cube coordinate of the truncated normal's quantile ``u``."""
        p = self.c_lo + np.clip(u, 1e-12, 1 - 1e-12) * (self.c_hi - self.c_lo)
        t = np.clip(self.mu + self.sd * ndtri(p), self.lo, self.hi)
        return np.clip((t - self.a) / (self.b - self.a), 0.0, 1.0)


class _Categorical1D:
    def __init__(self, dim: Categorical, choice, p: float, j: int):
        k = len(dim.choices)
        idx = int(dim.index(choice))
        if not (0.0 < p < 1.0) and k > 1:
            raise InvalidParameterError(f"PiBO: the 'std' of categorical dimension {j} is the probability of the "
                                        f"preferred choice and must be in (0, 1); got {p!r}")
        probs = np.full(k, (1.0 - p) / max(k - 1, 1))
        probs[idx] = p if k > 1 else 1.0
        self.k, self.logp, self.cdf = k, torch.tensor(np.log(probs), dtype=DTYPE), np.cumsum(probs)
        self.mass = 1.0

    def log_density(self, u: torch.Tensor) -> torch.Tensor:
        idx = torch.clamp(torch.floor(u.detach() * self.k), 0, self.k - 1).long()
        return self.logp[idx]

    def quantile(self, u: np.ndarray) -> np.ndarray:
        idx = np.minimum(np.searchsorted(self.cdf, np.clip(u, 0, 1 - 1e-12), side="right"), self.k - 1)
        return (idx + 0.5) / self.k


class Prior:
    """A validated prior spec (see the module docstring) over the unit cube of ``space``.

    ``log_density(U)`` (torch, (..., d) -> (...)) is the log density up to a constant, in the unit
    cube's coordinates; ``sample(U)`` maps uniform points (n, d) to prior draws (n, d).
    """

    def __init__(self, spec: dict, space):
        self.spec, self.dims = spec, _dims(space)
        d = len(self.dims)
        self.kind = spec.get("type")
        if self.kind == "gaussian":
            self._init_gaussian(spec, d)
        elif self.kind == "box":
            self._init_box(spec, d)
        else:
            raise InvalidParameterError(f"PiBO: prior 'type' must be 'gaussian' or 'box'; got {self.kind!r}")

    def _vector(self, spec, key, d, allow_none=True) -> list:
        v = spec.get(key)
        if not isinstance(v, (list, tuple)) or len(v) != d:
            raise InvalidParameterError(f"PiBO: prior {key!r} must be a list of {d} entries (one per dimension); got {v!r:.80}")
        if not allow_none and any(e is None for e in v):
            raise InvalidParameterError(f"PiBO: prior {key!r} must not hold null entries; got {v!r:.80}")
        return list(v)

    def _init_gaussian(self, spec, d) -> None:
        extra = set(spec) - {"type", "mean", "std"}
        if extra:
            raise InvalidParameterError(f"PiBO: unknown keys {sorted(extra)} in a gaussian prior (expected mean, std)")
        means, stds = self._vector(spec, "mean", d), self._vector(spec, "std", d)
        self.parts = []
        for j, (dim, mu, sd) in enumerate(zip(self.dims, means, stds)):
            if mu is None:
                continue
            if isinstance(dim, Categorical):
                part = _Categorical1D(dim, mu, float(sd), j)
            else:
                if not (isinstance(mu, (int, float)) and isinstance(sd, (int, float)) and math.isfinite(mu)
                        and math.isfinite(sd) and sd > 0):
                    raise InvalidParameterError(f"PiBO: dimension {j} needs a finite mean and a std > 0; got mean={mu!r}, std={sd!r}")
                part = _Gaussian1D(dim, float(mu), float(sd), j)
            if part.mass < MIN_MASS:
                raise InvalidParameterError(
                    f"PiBO: the prior puts no mass inside the search space in dimension {j} (mass {part.mass:.3g} "
                    f"of N({mu}, {sd}) within {dim!r}); move the mean inside the bounds or widen the std"
                )
            self.parts.append((j, part))

    def _init_box(self, spec, d) -> None:
        extra = set(spec) - {"type", "lower", "upper", "weight"}
        if extra:
            raise InvalidParameterError(f"PiBO: unknown keys {sorted(extra)} in a box prior (expected lower, upper, weight)")
        lower = self._vector(spec, "lower", d, allow_none=False)
        upper = self._vector(spec, "upper", d, allow_none=False)
        w = spec.get("weight", 0.9)
        if not (isinstance(w, (int, float)) and 0.0 < w < 1.0):
            raise InvalidParameterError(f"PiBO: box prior 'weight' must be in (0, 1); got {w!r}")
        self.weight = float(w)
        self.u_lo, self.u_hi = np.zeros(d), np.ones(d)
        for j, (dim, lo, hi) in enumerate(zip(self.dims, lower, upper)):
            ulo, uhi = _unit_interval(dim, float(lo), float(hi))
            if not uhi > ulo:
                raise InvalidParameterError(
                    f"PiBO: the prior box [{lo}, {hi}] in dimension {j} misses the search space {dim!r} (no mass inside)"
                )
            self.u_lo[j], self.u_hi[j] = ulo, uhi
        self.volume = float(np.prod(self.u_hi - self.u_lo))
        self._t_lo, self._t_hi = torch.tensor(self.u_lo, dtype=DTYPE), torch.tensor(self.u_hi, dtype=DTYPE)
        self._log_in = math.log(self.weight / self.volume + (1.0 - self.weight))
        self._log_out = math.log(1.0 - self.weight)

    def log_density(self, U: torch.Tensor) -> torch.Tensor:
        if self.kind == "box":
            inside = ((U >= self._t_lo) & (U <= self._t_hi)).all(-1)
            return torch.where(inside, torch.tensor(self._log_in, dtype=DTYPE), torch.tensor(self._log_out, dtype=DTYPE))
        out = torch.zeros(U.shape[:-1], dtype=DTYPE)
        for j, part in self.parts:
            out = out + part.log_density(U[..., j])
        return out

    def sample(self, U: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        U = np.array(U, dtype=np.float64, copy=True)
        if self.kind == "box":
            take = rng.random(U.shape[0]) < self.weight
            U[take] = self.u_lo + U[take] * (self.u_hi - self.u_lo)
            return U
        for j, part in self.parts:
            U[:, j] = part.quantile(U[:, j])
        return U


def _unit_interval(dim, lo: float, hi: float) -> tuple[float, float]:
    """The unit-cube interval of user values [lo, hi] in one dimension, intersected with [0, 1]."""
    if isinstance(dim, Categorical):
        k = len(dim.choices)
        a, b = max(math.ceil(lo - 1e-9), 0), min(math.floor(hi + 1e-9), k - 1)
        return (a / k, (b + 1) / k) if b >= a else (0.0, 0.0)
    if isinstance(dim, Integer):
        a, b = max(math.ceil(lo - 1e-9), dim.low), min(math.floor(hi + 1e-9), dim.high)
        if b < a:
            return 0.0, 0.0
        lo, hi = a - 0.5, b + 0.5
        edge_lo, edge_hi = dim.low - 0.5, dim.high + 0.5
    else:
        lo, hi = max(lo, dim.low), min(hi, dim.high)
        if hi <= lo:
            return 0.0, 0.0
        edge_lo, edge_hi = dim.low, dim.high
    if dim.log:
        f = math.log
        return (f(lo) - f(edge_lo)) / (f(edge_hi) - f(edge_lo)), (f(hi) - f(edge_lo)) / (f(edge_hi) - f(edge_lo))
    return (lo - edge_lo) / (edge_hi - edge_lo), (hi - edge_lo) / (edge_hi - edge_lo)


@register("pibo", family="bayesopt")
class PiBO(BO):
    """piBO: GP-BO with the log-EI acquisition weighted by a user prior ``pi(x) ** (beta / n)``.

    When to use: an expensive black box for which you have a belief about where good points lie
    (a default configuration, a published setting, an expert's range). With ``prior=None`` it is
    ``bo`` with ``acquisition="qlogei"``.

    Parameters
    ----------
    space : Box or SearchSpace (finite bounds)
    prior : dict, optional
        The belief, see the module docstring: ``{"type": "gaussian", "mean": [...], "std": [...]}``
        or ``{"type": "box", "lower": [...], "upper": [...], "weight": 0.9}``, in the user's space.
    beta : float
        Confidence in the prior: the weight is ``pi(x) ** (beta / n)`` after n observations. The
        paper's experiments set beta to a tenth of the budget; the default 10 suits ~100
        evaluations.
    acquisition : {"qlogei", "qlognei"}
        The log acquisition that the prior weights (see :class:`~optkit.bayesopt.bo.BO`).
    n_init, noise, batch, n_restarts, raw_samples, mc_samples, warm_start, seed
        As for :class:`~optkit.bayesopt.bo.BO`; the initial design is drawn from the prior.

    Examples
    --------
    >>> import optkit
    >>> prior = {"type": "gaussian", "mean": [0.3, 0.3], "std": [0.2, 0.2]}
    >>> res = optkit.minimize(lambda x: float(((x - 0.3) ** 2).sum()), [(-1, 1)] * 2, method="pibo",
    ...                       prior=prior, budget=12, seed=0)
    >>> bool(res.fun < 1e-3)
    True
    """

    _parameter_constraints = {
        "prior": [None, PRIOR],
        "beta": [Interval(float, 0, None)],
        "acquisition": [Options({"qlogei", "qlognei"})],
        "n_init": [Interval(int, 1, None), None],
        "noise": [Options({"fixed", "infer"}), Interval(float, 0, None, closed="neither")],
        "batch": [Interval(int, 1, None)],
        "n_restarts": [Interval(int, 1, None)],
        "raw_samples": [Interval(int, 1, None)],
        "mc_samples": [Interval(int, 1, None)],
        "warm_start": [None, WARM_START],
    }

    def __init__(self, space, *, prior: dict | None = None, beta: float = 10.0, acquisition: str = "qlogei",
                 n_init: int | None = None, noise="fixed", batch: int = 1, n_restarts: int = 10,
                 raw_samples: int = 1024, mc_samples: int = 128, warm_start=None, seed=None):
        Optimizer.__init__(self, space, seed=seed, prior=prior, beta=beta, acquisition=acquisition, n_init=n_init,
                           noise=noise, batch=batch, n_restarts=n_restarts, raw_samples=raw_samples,
                           mc_samples=mc_samples, warm_start=warm_start)
        self._prior = Prior(prior, self.space) if prior is not None else None
        self._setup()

    def _initial_transform(self, U: np.ndarray) -> np.ndarray:
        if self._prior is None:
            return U
        return self._spec.snap(self._prior.sample(U, self.rng))

    def _log_weights(self) -> tuple:
        if self._prior is None or self._y.size == 0:
            return ()
        prior = self._prior
        return ((prior.log_density, self.beta / self._y.size),)

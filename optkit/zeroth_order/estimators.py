"""Gradient estimators from function values only.

An estimator is a small stateless object with two methods:

* ``directions(rng, x, lower=None, upper=None) -> P`` (k, d): the points to evaluate around ``x``
  (kept inside ``[lower, upper]`` when the bounds are given);
* ``estimate(x, f_x, P, values) -> g`` (d,): the gradient estimate from the values (k,) of the points
  ``P`` (the rows ``directions`` returned, in the same order) and, for the estimators that need it
  (``needs_center``), the value ``f_x`` at ``x`` itself.

The estimate uses the points actually evaluated: a point clipped into a box gives the difference quotient
along the step actually taken. A NaN in ``values`` marks a point that could not be evaluated; the terms
that need it are left out (and averages are over the remaining terms). ``cost(d)`` is the number of
function evaluations one estimate takes (``f_x`` included where needed).

With ``mu`` the smoothing parameter, ``L`` the Lipschitz constant of the gradient and ``d`` the dimension:

=====================  ============  ===================================  ==================================
estimator              evaluations   expectation (bias)                   variance, for f linear (trace)
=====================  ============  ===================================  ==================================
GaussianTwoPoint       2m (m+1)      grad f_mu, f_mu(x) = E f(x + mu u),  (d + 1) |grad f|^2 / m
                                     u ~ N(0, I); |bias| <= mu L (d+3)^1.5 / 2
SphereTwoPoint         2m (m+1)      grad of the ball average of f at     (d - 1) |grad f|^2 / m
                                     radius mu; |bias| <= mu L d / 2
ForwardDifference/CGE  k + 1         f_i + mu f_ii / 2 + O(mu^2)          0 (all coordinates); else
                                                                          (n/k - 1) sum_i f_i^2
CentralDifference      2k            f_i + mu^2 f_iii / 6 + O(mu^4)       as forward
=====================  ============  ===================================  ==================================

(counts in brackets: ``antithetic=False``, one-sided differences against ``f(x)``; ``m`` directions;
``k`` coordinates per estimate out of the ``n`` in the mask.) On a quadratic both random estimators are
unbiased for the true gradient and central differences are exact. Sources: Nesterov & Spokoiny, "Random
gradient-free minimization of convex functions", Found. Comput. Math. 2017 (Gaussian smoothing); Flaxman,
Kalai & McMahan 2005 and Duchi et al. 2015 (sphere); Chen et al., "DeepZero", ICLR 2024 (coordinate-wise
estimation with a sparsity mask); Ren, Tang & Li, "Escaping saddle points in zeroth-order optimization:
the power of two-point estimators", ICML 2023 (the 2m-point sphere estimator).
"""

from __future__ import annotations

import abc

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.params import BOOL, Interval, Predicate, validate

POSITIVE = Interval(float, 0, None, closed="neither")


def _mask_ok(v) -> bool:
    a = np.asarray(v)
    if a.ndim != 1 or a.size == 0:
        return False
    if a.dtype == bool:
        return bool(a.any())
    return np.issubdtype(a.dtype, np.integer) and bool(np.all(a >= 0)) and np.unique(a).size == a.size


#: a sparsity mask: a boolean vector (d,) or distinct non-negative coordinate indices
MASK = Predicate(_mask_ok, "a boolean vector with at least one True, or a 1-D sequence of distinct coordinate indices")


def _bounded(P: np.ndarray, lower, upper) -> np.ndarray:
    if lower is None and upper is None:
        return P
    lo = -np.inf if lower is None else lower
    hi = np.inf if upper is None else upper
    return np.clip(P, lo, hi)


class Estimator(abc.ABC):
    """Base of the gradient estimators (see the module docstring for the protocol)."""

    #: whether ``estimate`` needs the value ``f_x`` at the center
    needs_center: bool = False

    def __init__(self, smoothing: float):
        validate(type(self).__name__, "smoothing", smoothing, [POSITIVE])
        self.smoothing = float(smoothing)

    @abc.abstractmethod
    def n_points(self, dim: int) -> int:
        """How many points ``directions`` returns in dimension ``dim`` (the center not counted)."""

    def cost(self, dim: int) -> int:
        """Function evaluations per estimate (with the center where it is needed)."""
        return self.n_points(dim) + int(self.needs_center)

    def check_dim(self, dim: int) -> None:
        """Raise :class:`InvalidParameterError` if this estimator cannot work in dimension ``dim``."""

    @abc.abstractmethod
    def directions(self, rng: np.random.Generator, x, lower=None, upper=None) -> np.ndarray:
        """The points (k, d) to evaluate for one estimate at ``x``."""

    @abc.abstractmethod
    def estimate(self, x, f_x, points, values) -> np.ndarray:
        """The gradient estimate (d,) from the values of ``points`` (and ``f_x`` if ``needs_center``)."""

    def _args(self, x, points, values):
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        P = np.asarray(points, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        k = self.n_points(x.size)
        if P.shape != (k, x.size) or v.shape != (k,):
            raise InvalidParameterError(
                f"{type(self).__name__}.estimate: expected 'points' of shape ({k}, {x.size}) and 'values' of shape "
                f"({k},) (the rows of directions()); got {P.shape} and {v.shape}"
            )
        return x, P, v

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class _RandomDirections(Estimator):
    """Directional differences along ``m`` random directions (the Gaussian and sphere estimators).

    Rows of ``directions``: with ``antithetic`` ``[x + mu u_1 .. x + mu u_m, x - mu u_1 .. x - mu u_m]``
    and ``g = c/m sum_k (f(x + mu u_k) - f(x - mu u_k)) / (2 mu) u_k``; without it ``[x + mu u_k]`` and
    ``g = c/m sum_k (f(x + mu u_k) - f(x)) / mu u_k``. ``c = 1`` for Gaussian ``u``, ``c = d`` for ``u``
    uniform on the unit sphere.
    """

    def __init__(self, smoothing: float, n_directions: int = 1, antithetic: bool = True):
        super().__init__(smoothing)
        validate(type(self).__name__, "n_directions", n_directions, [Interval(int, 1, None)])
        validate(type(self).__name__, "antithetic", antithetic, [BOOL])
        self.n_directions = int(n_directions)
        self.antithetic = bool(antithetic)

    @property
    def needs_center(self) -> bool:  # type: ignore[override]
        return not self.antithetic

    def n_points(self, dim: int) -> int:
        return 2 * self.n_directions if self.antithetic else self.n_directions

    @abc.abstractmethod
    def _sample(self, rng: np.random.Generator, m: int, d: int) -> np.ndarray:
        """``m`` directions (m, d)."""

    @abc.abstractmethod
    def _scale(self, d: int) -> float:
        """The constant ``c`` of the estimate."""

    def directions(self, rng, x, lower=None, upper=None) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        step = self.smoothing * self._sample(rng, self.n_directions, x.size)
        P = np.vstack([x + step, x - step]) if self.antithetic else x + step
        return _bounded(P, lower, upper)

    def estimate(self, x, f_x, points, values) -> np.ndarray:
        x, P, v = self._args(x, points, values)
        m, mu, c = self.n_directions, self.smoothing, self._scale(x.size)
        if self.antithetic:
            D = P[:m] - P[m:]  # 2 mu u_k where nothing was clipped
            dv = v[:m] - v[m:]
            denom = 4.0 * mu * mu
        else:
            if not np.isfinite(f_x):
                return np.zeros_like(x)
            D = P - x
            dv = v - float(f_x)
            denom = mu * mu
        ok = np.isfinite(dv)
        if not ok.any():
            return np.zeros_like(x)
        return (c / (denom * ok.sum())) * (dv[ok] @ D[ok])


class GaussianTwoPoint(_RandomDirections):
    """Two-point Gaussian smoothing (Nesterov & Spokoiny 2017): ``u ~ N(0, I)``.

    Unbiased for the gradient of ``f_mu(x) = E f(x + mu u)`` (equal to ``grad f`` on quadratics).
    ``n_directions = m`` averages ``m`` directions (2m evaluations); ``antithetic=False`` uses
    ``f(x + mu u) - f(x)`` instead (m + 1 evaluations).
    """

    def _sample(self, rng, m, d):
        return rng.standard_normal((m, d))

    def _scale(self, d):
        return 1.0


class SphereTwoPoint(_RandomDirections):
    """Two-point estimator with ``u`` uniform on the unit sphere, scaled by ``d`` (Flaxman et al. 2005).

    Unbiased for the gradient of the average of ``f`` over the ball of radius ``mu`` around ``x``. With
    ``n_directions = m`` this is the 2m-point estimator of Ren, Tang & Li (2023); its variance is lower
    than the Gaussian estimator's ((d - 1) instead of (d + 1) times ``|grad f|^2 / m`` for linear f).
    """

    def _sample(self, rng, m, d):
        U = rng.standard_normal((m, d))
        return U / np.linalg.norm(U, axis=1, keepdims=True)

    def _scale(self, d):
        return float(d)


class _CoordinateDifferences(Estimator):
    """Finite differences along coordinate axes, over a sparsity ``mask`` (all coordinates if None).

    With ``n_coordinates = k`` each estimate uses ``k`` coordinates of the mask drawn without
    replacement, scaled by ``n/k`` (``n`` the mask's size) so that it stays unbiased for the finite
    difference over the whole mask; coordinates outside the mask get 0.
    """

    central: bool = False

    def __init__(self, smoothing: float, mask=None, n_coordinates: int | None = None):
        super().__init__(smoothing)
        owner = type(self).__name__
        validate(owner, "mask", mask, [None, MASK])
        validate(owner, "n_coordinates", n_coordinates, [None, Interval(int, 1, None)])
        self.mask = None if mask is None else np.asarray(mask)
        self.n_coordinates = None if n_coordinates is None else int(n_coordinates)

    def coordinates(self, dim: int) -> np.ndarray:
        """The coordinate indices of the mask in dimension ``dim``."""
        self.check_dim(dim)
        if self.mask is None:
            return np.arange(dim)
        return np.flatnonzero(self.mask) if self.mask.dtype == bool else np.sort(self.mask.astype(np.intp))

    def check_dim(self, dim: int) -> None:
        owner = type(self).__name__
        if self.mask is not None:
            if self.mask.dtype == bool and self.mask.size != dim:
                raise InvalidParameterError(f"The 'mask' parameter of {owner} must have {dim} entries; got {self.mask.size}")
            if self.mask.dtype != bool and int(self.mask.max()) >= dim:
                raise InvalidParameterError(
                    f"The 'mask' parameter of {owner} must hold indices < {dim}; got {int(self.mask.max())}"
                )
        n = dim if self.mask is None else int(np.count_nonzero(self.mask) if self.mask.dtype == bool else self.mask.size)
        if self.n_coordinates is not None and self.n_coordinates > n:
            raise InvalidParameterError(
                f"The 'n_coordinates' parameter of {owner} must be at most the {n} coordinates of the mask; "
                f"got {self.n_coordinates}"
            )

    def _k(self, dim: int) -> int:
        n = self.coordinates(dim).size
        return n if self.n_coordinates is None else self.n_coordinates

    def n_points(self, dim: int) -> int:
        return (2 if self.central else 1) * self._k(dim)

    def _chosen(self, rng, dim: int) -> np.ndarray:
        idx = self.coordinates(dim)
        if self.n_coordinates is not None and self.n_coordinates < idx.size:
            idx = np.sort(rng.choice(idx, size=self.n_coordinates, replace=False))
        return idx

    def _scale(self, dim: int) -> float:
        return self.coordinates(dim).size / self._k(dim)


class ForwardDifference(_CoordinateDifferences):
    """Forward differences ``(f(x + mu e_i) - f(x)) / mu``: the coordinate-wise estimator (CGE) of DeepZero.

    ``k + 1`` evaluations for ``k`` coordinates; bias ``mu f_ii / 2 + O(mu^2)`` per coordinate. At an upper
    bound the step is taken backwards (a backward difference) so that every point stays in the box.
    """

    needs_center = True

    def directions(self, rng, x, lower=None, upper=None) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        idx = self._chosen(rng, x.size)
        mu = self.smoothing
        h = np.full(idx.size, mu)
        if upper is not None:
            up = np.broadcast_to(np.asarray(upper, dtype=np.float64), x.shape)[idx]
            lo = -np.inf if lower is None else np.broadcast_to(np.asarray(lower, dtype=np.float64), x.shape)[idx]
            over = x[idx] + mu > up
            # backwards where the forward step leaves the box; the longer side where neither fits
            h = np.where(over, np.where(x[idx] - mu >= lo, -mu, np.where(up - x[idx] >= x[idx] - lo, up - x[idx],
                                                                            lo - x[idx])), h)
        P = np.repeat(x[None, :], idx.size, axis=0)
        P[np.arange(idx.size), idx] += h
        return _bounded(P, lower, upper)

    def estimate(self, x, f_x, points, values) -> np.ndarray:
        x, P, v = self._args(x, points, values)
        g = np.zeros_like(x)
        if not np.isfinite(f_x) or P.shape[0] == 0:
            return g
        D = P - x
        idx = np.argmax(np.abs(D), axis=1)
        h = D[np.arange(P.shape[0]), idx]
        ok = np.isfinite(v) & (h != 0)
        g[idx[ok]] = (v[ok] - float(f_x)) / h[ok]
        return self._scale(x.size) * g


class CentralDifference(_CoordinateDifferences):
    """Central differences ``(f(x + mu e_i) - f(x - mu e_i)) / (2 mu)``: exact on quadratics.

    ``2k`` evaluations for ``k`` coordinates; bias ``mu^2 f_iii / 6 + O(mu^4)``. Rows:
    ``[x + mu e_i for i in S, x - mu e_i for i in S]``; a point clipped at a bound gives the one-sided
    difference over the step actually taken.
    """

    central = True

    def directions(self, rng, x, lower=None, upper=None) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        idx = self._chosen(rng, x.size)
        P = np.repeat(x[None, :], 2 * idx.size, axis=0)
        r = np.arange(idx.size)
        P[r, idx] += self.smoothing
        P[idx.size + r, idx] -= self.smoothing
        return _bounded(P, lower, upper)

    def estimate(self, x, f_x, points, values) -> np.ndarray:
        x, P, v = self._args(x, points, values)
        k = P.shape[0] // 2
        g = np.zeros_like(x)
        if k == 0:
            return g
        D = P[:k] - P[k:]
        idx = np.argmax(np.abs(D), axis=1)
        h = D[np.arange(k), idx]
        dv = v[:k] - v[k:]
        ok = np.isfinite(dv) & (h != 0)
        g[idx[ok]] = dv[ok] / h[ok]
        return self._scale(x.size) * g


#: DeepZero's coordinate-wise gradient estimator: forward differences over a sparsity mask
CGE = ForwardDifference

#: the names the zeroth-order optimizers accept for their ``estimator`` hyperparameter
ESTIMATORS = ("gaussian", "sphere", "forward", "central")


def make_estimator(name: str, smoothing: float, *, n_directions: int = 1, antithetic: bool = True, mask=None,
                   n_coordinates: int | None = None) -> Estimator:
    """The estimator called ``name`` ("gaussian", "sphere", "forward" (= CGE), "central").

    ``n_directions`` and ``antithetic`` apply to the random ones, ``mask`` and ``n_coordinates`` to the
    coordinate-wise ones; giving them to the other kind is an error.
    """
    validate("make_estimator", "name", name, [Predicate(lambda v: v in ESTIMATORS, f"one of {ESTIMATORS}")])
    if name in ("gaussian", "sphere"):
        if mask is not None or n_coordinates is not None:
            raise InvalidParameterError(
                f"make_estimator: 'mask' and 'n_coordinates' apply to the coordinate-wise estimators ('forward', "
                f"'central'), not to {name!r}; got mask={mask!r:.60}, n_coordinates={n_coordinates!r}"
            )
        cls = GaussianTwoPoint if name == "gaussian" else SphereTwoPoint
        return cls(smoothing, n_directions=n_directions, antithetic=antithetic)
    if n_directions != 1 or antithetic is not True:
        raise InvalidParameterError(
            f"make_estimator: 'n_directions' and 'antithetic' apply to the random estimators ('gaussian', 'sphere'), "
            f"not to {name!r}; got n_directions={n_directions!r}, antithetic={antithetic!r}"
        )
    cls = ForwardDifference if name == "forward" else CentralDifference
    return cls(smoothing, mask=mask, n_coordinates=n_coordinates)


__all__ = ["CGE", "ESTIMATORS", "CentralDifference", "Estimator", "ForwardDifference", "GaussianTwoPoint",
           "SphereTwoPoint", "make_estimator"]

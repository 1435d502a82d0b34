"""Linear minimization oracles (LMOs): the feasible sets of Frank-Wolfe.

An LMO answers ``v = argmin_{s in C} <g, s>`` for a gradient ``g``: a vertex (extreme point) of the
compact convex set ``C``. Frank-Wolfe touches ``C`` only through it, which is why it suits sets where
a linear minimization is cheap and a projection is not (the nuclear-norm ball: one top singular pair
instead of a full SVD; the Birkhoff polytope: one assignment problem instead of a quadratic program).

Every oracle works on flat float64 vectors (a matrix set reads a vector of length ``m * n`` in
row-major order) and offers

``lmo(g)`` (also ``oracle(g)``)   the minimizing vertex, shape ``g.shape``
``contains(x, tol)``              whether ``x`` lies in the set (up to a relative tolerance)
``project_start(x)``              the Euclidean projection of a starting point onto the set, or an
                                  :class:`~optkit.InvalidParameterError` where the set has no cheap
                                  projection (Birkhoff)
``start(d)``                      a feasible point (a vertex) to start from
``bounds(d)``                     a box ``(lower, upper)`` that contains the set
``check_dim(d)``                  an :class:`~optkit.InvalidParameterError` when the set cannot live
                                  in dimension ``d`` (a matrix set of another size, ``k > d``)

=========================  =====================================  ==================================
oracle                     set                                    vertex for gradient g
=========================  =====================================  ==================================
ProbabilitySimplex(r)      x >= 0, sum x = r                      r e_i, i = argmin g
UnitSimplex(r)             x >= 0, sum x <= r                     r e_i if min g < 0, else 0
L1Ball(r)                  ||x||_1 <= r                           -r sign(g_i) e_i, i = argmax |g|
L2Ball(r, center)          ||x - c||_2 <= r                       c - r g / ||g||
LInfBall(r, center)        ||x - c||_inf <= r                     c - r sign(g)
BoxLMO(lower, upper)       lower <= x <= upper                    lower where g > 0, else upper
KSparsePolytope(k, r)      ||x||_inf <= r, ||x||_1 <= k r         -r sign(g) on the k largest |g|
BirkhoffPolytope(n)        doubly stochastic n x n matrices       the permutation of min <G, P>
NuclearNormBall((m, n), r) ||X||_* <= r                           -r u1 v1^T (top singular pair of G)
=========================  =====================================  ==================================

The l1-ball, k-sparse and box oracles run as numba kernels (numpy twins with ``OPTKIT_NATIVE=0``,
:mod:`optkit_native.lmo_kernels`). References: Jaggi, "Revisiting Frank-Wolfe: projection-free
sparse convex optimization", ICML 2013 (the oracles and their costs); FrankWolfe.jl (Besancon,
Carderera, Pokutta 2022) for the catalogue.
"""

from __future__ import annotations

import abc
import math

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.params import Interval, Options, validate

_RADIUS = [Interval(float, 0, None, closed="neither")]
#: relative tolerance of ``contains``
TOL = 1e-9


def _radius(owner: str, r) -> float:
    validate(owner, "radius", r, _RADIUS)
    if not math.isfinite(float(r)):
        raise InvalidParameterError(f"The 'radius' parameter of {owner} must be finite. Got {r!r} instead.")
    return float(r)


def _kernel(name: str):
    import optkit_native.lmo_kernels  # noqa: F401  (registers the kernels)
    from optkit_native import kernel

    return kernel("lmo_" + name)


def _simplex_projection(y: np.ndarray, r: float) -> np.ndarray:
    """Euclidean projection of ``y`` onto ``{x >= 0, sum x = r}`` (the sort-based method of Held,
    Wolfe and Crowder 1974; Duchi et al. 2008)."""
    u = np.sort(y)[::-1]
    css = np.cumsum(u) - r
    ind = np.arange(1, y.size + 1)
    rho = np.flatnonzero(u - css / ind > 0)[-1]
    return np.maximum(y - css[rho] / (rho + 1.0), 0.0)


class LMO(abc.ABC):
    """Base class of the linear minimization oracles (see the module docstring)."""

    #: the fixed dimension of a matrix set (None: any dimension)
    size: int | None = None

    @abc.abstractmethod
    def _vertex(self, g: np.ndarray) -> np.ndarray:
        """The minimizing vertex for a validated gradient ``g`` (d,)."""

    @abc.abstractmethod
    def _contains(self, x: np.ndarray, tol: float) -> bool:
        """Membership of a validated point."""

    @abc.abstractmethod
    def bounds(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """A box ``(lower, upper)`` (each (d,)) that contains the set."""

    def _project(self, x: np.ndarray) -> np.ndarray:
        raise InvalidParameterError(
            f"{self!r}: the starting point is outside the set and this set has no cheap projection; give a "
            f"feasible start, e.g. lmo.start(d) (a vertex)"
        )

    # -- the public interface ------------------------------------------------------------------
    def check_dim(self, d: int, owner: str = "") -> None:
        """Raise :class:`InvalidParameterError` when the set cannot live in dimension ``d``."""
        if self.size is not None and d != self.size:
            raise InvalidParameterError(
                f"{owner or type(self).__name__}: {self!r} lives in dimension {self.size} (a flattened matrix); "
                f"got vectors of dimension {d}"
            )

    def _vector(self, v, what: str) -> np.ndarray:
        a = np.asarray(v, dtype=np.float64)
        if a.ndim != 1 or a.size == 0:
            raise InvalidParameterError(f"{self!r}: {what!r} must be a non-empty 1-D array; got shape {a.shape}")
        self.check_dim(a.size, repr(self))
        return a

    def lmo(self, grad) -> np.ndarray:
        """``argmin_{s in C} <grad, s>``: a vertex of the set, shape (d,)."""
        g = self._vector(grad, "grad")
        if not np.all(np.isfinite(g)):
            raise InvalidParameterError(f"{self!r}: 'grad' must be finite; got {g[~np.isfinite(g)][:3]!r}")
        return self._vertex(g)

    oracle = lmo

    def __call__(self, grad) -> np.ndarray:
        return self.lmo(grad)

    def contains(self, x, tol: float = TOL) -> bool:
        """Whether ``x`` lies in the set, up to a relative tolerance ``tol``."""
        return bool(self._contains(self._vector(x, "x"), tol))

    def project_start(self, x) -> np.ndarray:
        """``x`` itself if it is in the set, else its Euclidean projection onto the set (an
        :class:`InvalidParameterError` for a set without a cheap projection)."""
        x = self._vector(x, "x")
        if not np.all(np.isfinite(x)):
            raise InvalidParameterError(f"{self!r}: the starting point must be finite")
        return x.copy() if self._contains(x, TOL) else self._project(x)

    def spec(self) -> dict:
        """A JSON-able description, ``{"type": "L1Ball", "radius": 1.0}``; :func:`from_spec` rebuilds the
        oracle from it (pass the spec as ``lmo=`` where hyperparameters must be JSON: a journaled run)."""
        return {"type": type(self).__name__, **{k: (v.tolist() if isinstance(v, np.ndarray) else v)
                                                 for k, v in self._args.items()}}

    def start(self, d: int | None = None) -> np.ndarray:
        """A vertex of the set (the oracle's answer to the gradient ``(1, ..., 1)``)."""
        d = self.size if d is None else int(d)
        if d is None:
            raise InvalidParameterError(f"{self!r}.start: give the dimension 'd' (this set takes any dimension)")
        self.check_dim(d, repr(self))
        return self._vertex(np.ones(d))


class ProbabilitySimplex(LMO):
    """``{x >= 0, sum x = radius}``; the vertices are ``radius * e_i``."""

    def __init__(self, radius: float = 1.0):
        self.radius = _radius("ProbabilitySimplex", radius)
        self._args = {"radius": self.radius}

    def _vertex(self, g):
        v = np.zeros_like(g)
        v[int(np.argmin(g))] = self.radius
        return v

    def _contains(self, x, tol):
        return bool(np.all(x >= -tol * self.radius) and abs(x.sum() - self.radius) <= tol * max(self.radius, x.size))

    def _project(self, x):
        return _simplex_projection(x, self.radius)

    def bounds(self, d):
        return np.zeros(d), np.full(d, self.radius)

    def __repr__(self):
        return f"ProbabilitySimplex(radius={self.radius:g})"


class UnitSimplex(LMO):
    """``{x >= 0, sum x <= radius}``; the vertices are 0 and ``radius * e_i``."""

    def __init__(self, radius: float = 1.0):
        self.radius = _radius("UnitSimplex", radius)
        self._args = {"radius": self.radius}

    def _vertex(self, g):
        v = np.zeros_like(g)
        i = int(np.argmin(g))
        if g[i] < 0:
            v[i] = self.radius
        return v

    def _contains(self, x, tol):
        return bool(np.all(x >= -tol * self.radius) and x.sum() <= self.radius * (1 + tol) + tol * x.size)

    def _project(self, x):
        y = np.maximum(x, 0.0)
        return y if y.sum() <= self.radius else _simplex_projection(x, self.radius)

    def bounds(self, d):
        return np.zeros(d), np.full(d, self.radius)

    def __repr__(self):
        return f"UnitSimplex(radius={self.radius:g})"


class L1Ball(LMO):
    """``{||x||_1 <= radius}``; the vertices are ``+-radius * e_i`` (a numba kernel finds ``argmax |g_i|``)."""

    def __init__(self, radius: float = 1.0):
        self.radius = _radius("L1Ball", radius)
        self._args = {"radius": self.radius}

    def _vertex(self, g):
        i = _kernel("l1_argmax")(g)
        v = np.zeros_like(g)
        v[i] = -self.radius if g[i] > 0 else self.radius
        return v

    def _contains(self, x, tol):
        return bool(np.abs(x).sum() <= self.radius * (1 + tol))

    def _project(self, x):
        return np.sign(x) * _simplex_projection(np.abs(x), self.radius)

    def bounds(self, d):
        return np.full(d, -self.radius), np.full(d, self.radius)

    def __repr__(self):
        return f"L1Ball(radius={self.radius:g})"


def _center(owner: str, center):
    if center is None:
        return None
    c = np.asarray(center, dtype=np.float64)
    if c.ndim > 1 or not np.all(np.isfinite(c)):
        raise InvalidParameterError(f"The 'center' parameter of {owner} must be a finite scalar or 1-D array. Got {center!r:.80} instead.")
    return c


class L2Ball(LMO):
    """``{||x - center||_2 <= radius}``; every boundary point is a vertex."""

    def __init__(self, radius: float = 1.0, center=None):
        self.radius = _radius("L2Ball", radius)
        self.center = _center("L2Ball", center)
        self._args = {"radius": self.radius, "center": self.center}
        if self.center is not None and self.center.ndim == 1:
            self.size = self.center.size

    def _c(self, d):
        return np.zeros(d) if self.center is None else np.broadcast_to(self.center, (d,))

    def _vertex(self, g):
        n = float(np.linalg.norm(g))
        if n == 0.0:
            u = np.zeros_like(g)
            u[0] = 1.0
        else:
            u = g / n
        return self._c(g.size) - self.radius * u

    def _contains(self, x, tol):
        return bool(np.linalg.norm(x - self._c(x.size)) <= self.radius * (1 + tol))

    def _project(self, x):
        c = self._c(x.size)
        return c + (x - c) * (self.radius / np.linalg.norm(x - c))

    def bounds(self, d):
        c = self._c(d)
        return c - self.radius, c + self.radius

    def __repr__(self):
        return f"L2Ball(radius={self.radius:g}" + ("" if self.center is None else f", center={self.center.tolist()!r:.60}") + ")"


class BoxLMO(LMO):
    """``{lower <= x <= upper}`` (scalars broadcast to any dimension); the vertices are the corners."""

    def __init__(self, lower, upper):
        lo, hi = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
        if lo.ndim > 1 or hi.ndim > 1 or not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise InvalidParameterError(
                f"BoxLMO: 'lower' and 'upper' must be finite scalars or 1-D arrays; got {lower!r:.60}, {upper!r:.60}"
            )
        try:
            ok = np.all(lo < hi)
        except ValueError:
            raise InvalidParameterError(f"BoxLMO: 'lower' and 'upper' have different lengths: {lo.shape} and {hi.shape}") from None
        if not ok:
            raise InvalidParameterError(f"BoxLMO: 'lower' must be < 'upper' everywhere; got {lower!r:.60}, {upper!r:.60}")
        self.lower, self.upper = lo, hi
        self._args = {"lower": lo, "upper": hi}
        n = max(lo.size if lo.ndim else 1, hi.size if hi.ndim else 1)
        self.size = n if (lo.ndim or hi.ndim) else None

    def _lohi(self, d):
        return np.broadcast_to(self.lower, (d,)), np.broadcast_to(self.upper, (d,))

    def _vertex(self, g):
        lo, hi = self._lohi(g.size)
        return _kernel("box_vertex")(g, lo, hi)

    def _contains(self, x, tol):
        lo, hi = self._lohi(x.size)
        w = tol * np.maximum(hi - lo, 1.0)
        return bool(np.all(x >= lo - w) and np.all(x <= hi + w))

    def _project(self, x):
        lo, hi = self._lohi(x.size)
        return np.clip(x, lo, hi)

    def bounds(self, d):
        lo, hi = self._lohi(d)
        return lo.copy(), hi.copy()

    def __repr__(self):
        def show(a):
            return f"{float(a):g}" if a.ndim == 0 else f"{a.tolist()!r:.60}"

        return f"BoxLMO({show(self.lower)}, {show(self.upper)})"


class LInfBall(BoxLMO):
    """``{||x - center||_inf <= radius}``: the box ``center +- radius``."""

    def __init__(self, radius: float = 1.0, center=None):
        self.radius = _radius("LInfBall", radius)
        self.center = _center("LInfBall", center)
        c = 0.0 if self.center is None else self.center
        super().__init__(np.asarray(c) - self.radius, np.asarray(c) + self.radius)
        self._args = {"radius": self.radius, "center": self.center}

    def __repr__(self):
        return f"LInfBall(radius={self.radius:g}" + ("" if self.center is None else f", center={self.center.tolist()!r:.60}") + ")"


class KSparsePolytope(LMO):
    """``conv{x in {-r, 0, r}^d with at most k non-zeros} = {||x||_inf <= r, ||x||_1 <= k r}``.

    The oracle puts ``-r sign(g_i)`` on the ``k`` largest ``|g_i|`` (a numba top-k selection).
    """

    def __init__(self, k: int, radius: float = 1.0):
        validate("KSparsePolytope", "k", k, [Interval(int, 1, None)])
        self.k = int(k)
        self.radius = _radius("KSparsePolytope", radius)
        self._args = {"k": self.k, "radius": self.radius}

    def check_dim(self, d, owner=""):
        if self.k > d:
            raise InvalidParameterError(f"{owner or 'KSparsePolytope'}: k={self.k} exceeds the dimension {d}; expected k <= d")

    def _vertex(self, g):
        idx = _kernel("topk_abs")(g, self.k)
        v = np.zeros_like(g)
        v[idx] = -self.radius * np.sign(g[idx])
        return v

    def _contains(self, x, tol):
        a = np.abs(x)
        return bool(a.max() <= self.radius * (1 + tol) and a.sum() <= self.k * self.radius * (1 + tol))

    def _project(self, x):
        a, r, budget = np.abs(x), self.radius, self.k * self.radius
        if np.minimum(a, r).sum() <= budget:
            return np.clip(x, -r, r)
        lo, hi = 0.0, float(a.max())  # sum(clip(a - lam, 0, r)) decreases in lam: bisection
        for _ in range(200):
            lam = 0.5 * (lo + hi)
            if np.clip(a - lam, 0.0, r).sum() > budget:
                lo = lam
            else:
                hi = lam
        return np.sign(x) * np.clip(a - hi, 0.0, r)

    def bounds(self, d):
        return np.full(d, -self.radius), np.full(d, self.radius)

    def __repr__(self):
        return f"KSparsePolytope(k={self.k}, radius={self.radius:g})"


class BirkhoffPolytope(LMO):
    """The doubly stochastic ``n x n`` matrices (flattened row-major, dimension ``n * n``).

    The vertices are the permutation matrices (Birkhoff-von Neumann); the oracle solves the
    assignment problem ``min_P <G, P>`` with ``scipy.optimize.linear_sum_assignment`` (O(n^3)). There
    is no cheap Euclidean projection: an infeasible start is an error, not projected.
    """

    def __init__(self, n: int):
        validate("BirkhoffPolytope", "n", n, [Interval(int, 1, None)])
        self.n = int(n)
        self.size = self.n * self.n
        self._args = {"n": self.n}

    def _vertex(self, g):
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(g.reshape(self.n, self.n))
        v = np.zeros((self.n, self.n))
        v[rows, cols] = 1.0
        return v.reshape(-1)

    def _contains(self, x, tol):
        X = x.reshape(self.n, self.n)
        w = tol * self.n
        return bool(np.all(X >= -tol) and np.all(np.abs(X.sum(0) - 1) <= w) and np.all(np.abs(X.sum(1) - 1) <= w))

    def start(self, d=None):
        self.check_dim(self.size if d is None else int(d), repr(self))
        return np.eye(self.n).reshape(-1)

    def bounds(self, d):
        return np.zeros(d), np.ones(d)

    def __repr__(self):
        return f"BirkhoffPolytope(n={self.n})"


def _start_vector(n: int) -> np.ndarray:
    """A fixed start of the iterative SVDs (reproducible runs), not orthogonal to a generic vector."""
    v = 1.0 + np.arange(n) / n
    return v / np.linalg.norm(v)


class NuclearNormBall(LMO):
    """``{X in R^{m x n}: ||X||_* <= radius}`` (sum of singular values; flattened row-major).

    The oracle needs only the top singular pair ``(u1, v1)`` of the gradient ``G``: ``-r u1 v1^T``.
    ``method``: ``"lanczos"`` (``scipy.sparse.linalg.svds``, ARPACK, ``k=1``), ``"power"`` (power
    iteration on ``G^T G``, at most ``maxiter`` products), ``"full"`` (``numpy.linalg.svd``, for
    checks) or ``"auto"`` (full below 32 x 32, else Lanczos). Both iterative methods start from the
    same deterministic vector, so a run is reproducible. ``tol`` is their relative tolerance.
    The projection of an infeasible start costs one full SVD (once).
    """

    METHODS = ("auto", "lanczos", "power", "full")

    def __init__(self, shape, radius: float = 1.0, *, method: str = "auto", tol: float = 1e-9, maxiter: int = 1000):
        try:
            m, n = (int(s) for s in shape)
            ok = m >= 1 and n >= 1 and (m, n) == tuple(shape)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise InvalidParameterError(f"The 'shape' parameter of NuclearNormBall must be a pair of positive ints (m, n). Got {shape!r} instead.")
        self.shape = (m, n)
        self.size = m * n
        self.radius = _radius("NuclearNormBall", radius)
        validate("NuclearNormBall", "method", method, [Options(self.METHODS)])
        validate("NuclearNormBall", "tol", tol, [Interval(float, 0, 1, closed="neither")])
        validate("NuclearNormBall", "maxiter", maxiter, [Interval(int, 1, None)])
        self.method, self.tol, self.maxiter = method, float(tol), int(maxiter)
        self._args = {"shape": list(self.shape), "radius": self.radius, "method": method, "tol": self.tol, "maxiter": self.maxiter}

    def top_singular_pair(self, G: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """``(u1, s1, v1)`` of the matrix ``G`` (m, n) by the configured method."""
        m, n = G.shape
        method = self.method
        if method == "auto":
            method = "full" if min(m, n) < 32 else "lanczos"
        if method == "lanczos" and min(m, n) < 2:
            method = "full"
        if method == "full" or not np.any(G):  # (ARPACK fails on a zero matrix; every atom is then optimal)
            U, s, Vt = np.linalg.svd(G, full_matrices=False)
            return U[:, 0], float(s[0]), Vt[0]
        if method == "lanczos":
            from scipy.sparse.linalg import svds

            k = min(m, n)  # ARPACK's start vector has length min(m, n)
            U, s, Vt = svds(G, k=1, v0=_start_vector(k), tol=self.tol, maxiter=self.maxiter, solver="arpack")
            return U[:, 0], float(s[0]), Vt[0]
        v, s = _start_vector(n), 0.0
        for _ in range(self.maxiter):
            u = G @ v
            s_u = float(np.linalg.norm(u))
            if s_u == 0.0:
                break
            w = G.T @ (u / s_u)
            s_new = float(np.linalg.norm(w))
            v = w / s_new
            if abs(s_new - s) <= self.tol * s_new:
                s = s_new
                break
            s = s_new
        u = G @ v
        nu = float(np.linalg.norm(u))
        return (u / nu if nu > 0 else np.eye(m)[0]), nu, v

    def _vertex(self, g):
        u, _, v = self.top_singular_pair(g.reshape(self.shape))
        return (-self.radius * np.outer(u, v)).reshape(-1)

    def _contains(self, x, tol):
        return bool(np.linalg.svd(x.reshape(self.shape), compute_uv=False).sum() <= self.radius * (1 + tol))

    def _project(self, x):
        U, s, Vt = np.linalg.svd(x.reshape(self.shape), full_matrices=False)
        s = _simplex_projection(s, self.radius) if s.sum() > self.radius else s
        return ((U * s) @ Vt).reshape(-1)

    def start(self, d=None):
        self.check_dim(self.size if d is None else int(d), repr(self))
        v = np.zeros(self.shape)
        v[0, 0] = self.radius
        return v.reshape(-1)

    def bounds(self, d):
        return np.full(d, -self.radius), np.full(d, self.radius)

    def __repr__(self):
        return f"NuclearNormBall(shape={self.shape}, radius={self.radius:g})"


def from_spec(spec) -> LMO:
    """The oracle described by ``spec`` (:meth:`LMO.spec`), e.g. ``{"type": "L1Ball", "radius": 2.0}``."""
    classes = {c.__name__: c for c in (ProbabilitySimplex, UnitSimplex, L1Ball, L2Ball, BoxLMO, LInfBall,
                                       KSparsePolytope, BirkhoffPolytope, NuclearNormBall)}
    if not isinstance(spec, dict) or spec.get("type") not in classes:
        raise InvalidParameterError(
            f"an LMO spec must be a dict with 'type' one of {sorted(classes)} and the oracle's arguments; got {spec!r:.80}"
        )
    args = {k: v for k, v in spec.items() if k != "type"}
    try:
        return classes[spec["type"]](**args)
    except TypeError as exc:
        raise InvalidParameterError(f"the LMO spec {spec!r:.80} has arguments {spec['type']} does not take: {exc}") from None


__all__ = ["LMO", "BirkhoffPolytope", "from_spec", "BoxLMO", "KSparsePolytope", "L1Ball", "L2Ball", "LInfBall",
           "NuclearNormBall", "ProbabilitySimplex", "UnitSimplex"]

"""Classical test functions with known optima, each an :class:`optkit.Problem` evaluable on a batch.

Dimension-free functions (``dim`` defaults to 10) and their standard domains:

============== ============================== ========================================================
name           domain                         known minimum
============== ============================== ========================================================
sphere         [-5.12, 5.12]^d                0 at the origin
ellipsoid      [-5, 5]^d                      0 at the origin (axis weights 10^(6 j/(d-1)), condition 1e6)
rosenbrock     [-5, 10]^d (d >= 2)            0 at (1, ..., 1)
rastrigin      [-5.12, 5.12]^d                0 at the origin
ackley         [-32.768, 32.768]^d            0 at the origin (a=20, b=0.2, c=2 pi)
griewank       [-600, 600]^d                  0 at the origin
levy           [-10, 10]^d                    0 at (1, ..., 1)
schwefel       [-500, 500]^d                  1.2727566e-5 d at x_j = 420.968746... (2.26 form with the
                                              constant 418.9829, so the minimum is slightly above 0)
styblinski_tang [-5, 5]^d                     -39.16616570377141 d at x_j = -2.903534027771177
michalewicz    [0, pi]^d                      computed per coordinate (the function is separable):
                                              -1.8013034 (d=2), -4.6876582 (d=5), -9.6601517 (d=10)
============== ============================== ========================================================

Fixed-dimension functions (``dim`` must be None or their own dimension):

=============== ========================= =====================================================
branin          [-5, 10] x [0, 15]        5/(4 pi) = 0.397887... at (-pi, 12.275), (pi, 2.275),
                                          (3 pi, 2.475)
hartmann3       [0, 1]^3                  -3.862779787... at (0.114589, 0.555649, 0.852547)
hartmann6       [0, 1]^6                  -3.322368011... at (0.201690, 0.150011, 0.476874,
                                          0.275332, 0.311652, 0.657300)
six_hump_camel  [-3, 3] x [-2, 2]         -1.031628453... at +-(0.0898420, -0.7126564)
goldstein_price [-2, 2]^2                 3 at (0, -1)
=============== ========================= =====================================================

Definitions as in Surjanovic & Bingham, *Virtual Library of Simulation Experiments: Test Functions
and Datasets* (https://www.sfu.ca/~ssurjano/optimization.html); Michalewicz's optima for d = 2, 5, 10
as published there and in Vanaret et al. (2020). The optimal values stored on the problems (``f_opt``)
were recomputed to full double precision by local refinement of the published optimizers (the
published figures are their rounded values).

The ten dimension-free functions evaluate through :func:`optkit_native.kernel` at call time: the
numba kernel, or its numpy twin (the functions re-exported here) with ``OPTKIT_NATIVE=0``.

>>> from optkit.problems.classical import PROBLEMS
>>> p = PROBLEMS["rastrigin"](dim=3)
>>> p.dim, p.f_opt
(3, 0.0)
>>> float(p.evaluate([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])[1])
1.0
>>> b = PROBLEMS["branin"]()
>>> round(b(b.x_opt), 6)
0.397887
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import optkit_native
from optkit.core.errors import InvalidParameterError
from optkit.core.problem import Problem
from optkit.core.space import Box
from optkit_native import testfunctions as _tf
from optkit_native.testfunctions import (
    ackley,
    ellipsoid,
    griewank,
    levy,
    michalewicz,
    rastrigin,
    rosenbrock,
    schwefel,
    sphere,
    styblinski_tang,
)

DEFAULT_DIM = 10


# ---------------------------------------------------------------------------------------------------
# the fixed-dimension functions (plain numpy, batch in -> values out)
# ---------------------------------------------------------------------------------------------------
_BRANIN_B = 5.1 / (4.0 * math.pi**2)
_BRANIN_C = 5.0 / math.pi
_BRANIN_T = 1.0 / (8.0 * math.pi)
BRANIN_MINIMIZERS = np.array([[-math.pi, 12.275], [math.pi, 2.275], [3.0 * math.pi, 2.475]])
BRANIN_MIN = 5.0 / (4.0 * math.pi)  # = 10 (1 - t) cos(pi) + 10 with the first term 0


def branin(X) -> np.ndarray:
    """Branin-Hoo: ``(x2 - b x1**2 + c x1 - 6)**2 + 10 (1 - t) cos(x1) + 10``, b = 5.1/(4 pi^2),
    c = 5/pi, t = 1/(8 pi)."""
    X = _batch(X, 2)
    x1, x2 = X[:, 0], X[:, 1]
    a = x2 - _BRANIN_B * x1 * x1 + _BRANIN_C * x1 - 6.0
    return a * a + 10.0 * (1.0 - _BRANIN_T) * np.cos(x1) + 10.0


_HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_HARTMANN3_A = np.array([[3.0, 10.0, 30.0], [0.1, 10.0, 35.0], [3.0, 10.0, 30.0], [0.1, 10.0, 35.0]])
_HARTMANN3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]])
_HARTMANN6_A = np.array(
    [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ]
)
_HARTMANN6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
# Published optimizers, refined to double precision by local minimization (BFGS + Nelder-Mead).
HARTMANN3_XOPT = np.array([0.11458886859137944, 0.5556488945947685, 0.8525469839923088])
HARTMANN3_MIN = -3.862779787332663  # published: -3.86278
HARTMANN6_XOPT = np.array(
    [0.20168951284088166, 0.15001069121573468, 0.47687397552004734, 0.2753324309510746, 0.31165161746271286, 0.6573005329659732]
)
HARTMANN6_MIN = -3.322368011415515  # published: -3.32237


def _hartmann(X, A, P) -> np.ndarray:
    diff = X[:, None, :] - P[None, :, :]  # (n, 4, d)
    return -np.exp(-np.sum(A * diff * diff, axis=2)) @ _HARTMANN_ALPHA


def hartmann3(X) -> np.ndarray:
    """Hartmann 3-D: ``-sum_i alpha_i exp(-sum_j A_ij (x_j - P_ij)**2)``."""
    return _hartmann(_batch(X, 3), _HARTMANN3_A, _HARTMANN3_P)


def hartmann6(X) -> np.ndarray:
    """Hartmann 6-D: ``-sum_i alpha_i exp(-sum_j A_ij (x_j - P_ij)**2)``."""
    return _hartmann(_batch(X, 6), _HARTMANN6_A, _HARTMANN6_P)


SIX_HUMP_CAMEL_XOPT = np.array([0.08984200678905811, -0.712656410015068])  # and its negative
SIX_HUMP_CAMEL_MIN = -1.0316284534898768  # published: -1.0316


def six_hump_camel(X) -> np.ndarray:
    """Six-hump camel: ``(4 - 2.1 x1**2 + x1**4/3) x1**2 + x1 x2 + (-4 + 4 x2**2) x2**2``."""
    X = _batch(X, 2)
    x1, x2 = X[:, 0], X[:, 1]
    a = x1 * x1
    b = x2 * x2
    return (4.0 - 2.1 * a + a * a / 3.0) * a + x1 * x2 + (-4.0 + 4.0 * b) * b


def goldstein_price(X) -> np.ndarray:
    """Goldstein-Price on [-2, 2]^2; minimum 3 at (0, -1)."""
    X = _batch(X, 2)
    x1, x2 = X[:, 0], X[:, 1]
    s = x1 + x2 + 1.0
    t = 2.0 * x1 - 3.0 * x2
    p = 1.0 + s * s * (19.0 - 14.0 * x1 + 3.0 * x1 * x1 - 14.0 * x2 + 6.0 * x1 * x2 + 3.0 * x2 * x2)
    q = 30.0 + t * t * (18.0 - 32.0 * x1 + 12.0 * x1 * x1 + 48.0 * x2 - 36.0 * x1 * x2 + 27.0 * x2 * x2)
    return p * q


def _batch(X, d: int) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != d:
        raise InvalidParameterError(f"'X' must have shape (n, {d}); got shape {X.shape}")
    return X


# ---------------------------------------------------------------------------------------------------
# known optima of the dimension-free functions
# ---------------------------------------------------------------------------------------------------
# Schwefel: x sin(sqrt x) is largest on [0, 500] at the root of sin(r) + r cos(r)/2 = 0, r = sqrt(x).
SCHWEFEL_XOPT = 420.96874635998205
SCHWEFEL_MIN_PER_DIM = _tf.SCHWEFEL_CONSTANT - 418.9828872724337  # 1.2727566e-5
# Styblinski-Tang: the root of 4 t^3 - 32 t + 5 = 0 near -2.9.
STYBLINSKI_TANG_XOPT = -2.903534027771177
STYBLINSKI_TANG_MIN_PER_DIM = -39.16616570377141

_MICHALEWICZ_COORDS: list[tuple[float, float]] = []  # (argmin, min) of coordinate j = 1, 2, ...


def _michalewicz_term(t, j: int):
    s = np.sin(j * t * t / np.pi)
    s4 = (s * s) ** 2
    return -np.sin(t) * (s4 * s4) ** 2 * s4


def _michalewicz_coordinate(j: int) -> tuple[float, float]:
    """Global minimum of ``-sin(t) sin(j t^2/pi)^20`` on [0, pi]: the minimum of the bump whose peak
    ``t_k = pi sqrt((k + 1/2)/j)`` (where the sine power is 1) lies closest to ``sin(t) = 1``; the few
    best candidates are refined by bounded Brent, each within its bump ``[pi sqrt(k/j), pi sqrt((k+1)/j)]``."""
    from scipy.optimize import minimize_scalar

    k = np.arange(j)
    peaks = np.minimum(np.pi * np.sqrt((k + 0.5) / j), np.pi)
    best = (np.inf, np.nan)
    for kk in np.argsort(-np.sin(peaks), kind="stable")[:6]:
        lo = np.pi * math.sqrt(kk / j)
        hi = min(np.pi, np.pi * math.sqrt((kk + 1) / j))
        r = minimize_scalar(_michalewicz_term, bounds=(lo, hi), args=(j,), method="bounded", options={"xatol": 1e-13})
        value = float(_michalewicz_term(float(r.x), j))
        if value < best[0]:
            best = (value, float(r.x))
    return best[1], best[0]


def michalewicz_optimum(dim: int) -> tuple[np.ndarray, float]:
    """The global minimizer and minimum of Michalewicz (m = 10) in ``dim`` dimensions.

    The function is a sum of one-dimensional terms, so the optimum is found coordinate by coordinate;
    this reproduces the published -1.8013 (d=2), -4.687658 (d=5) and -9.66015 (d=10).
    """
    while len(_MICHALEWICZ_COORDS) < dim:
        _MICHALEWICZ_COORDS.append(_michalewicz_coordinate(len(_MICHALEWICZ_COORDS) + 1))
    coords = _MICHALEWICZ_COORDS[:dim]
    return np.array([c[0] for c in coords]), float(sum(c[1] for c in coords))


# ---------------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------------
class KernelObjective:
    """A picklable batch objective that runs kernel ``name`` through :func:`optkit_native.kernel`,
    choosing numba or numpy at each call (so ``OPTKIT_NATIVE`` is honoured at evaluation time)."""

    __slots__ = ("kernel_name",)

    def __init__(self, kernel_name: str):
        self.kernel_name = kernel_name

    @property
    def __name__(self) -> str:
        return self.kernel_name

    def __call__(self, X) -> np.ndarray:
        return optkit_native.kernel(self.kernel_name)(np.asarray(X, dtype=np.float64))

    def __getstate__(self):
        return self.kernel_name

    def __setstate__(self, state):
        self.kernel_name = state

    def __repr__(self) -> str:
        return f"KernelObjective({self.kernel_name!r})"


def _check_dim(name: str, dim, *, minimum: int = 1) -> int:
    if dim is None:
        return DEFAULT_DIM
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < minimum:
        raise InvalidParameterError(f"{name}: 'dim' must be an int >= {minimum} (or None for {DEFAULT_DIM}); got {dim!r}")
    return int(dim)


def _check_fixed_dim(name: str, dim, fixed: int) -> int:
    if dim is None:
        return fixed
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or int(dim) != fixed:
        raise InvalidParameterError(
            f"{name}: 'dim' must be None or {fixed} ({name} is defined in {fixed} dimensions only); got {dim!r}"
        )
    return fixed


def _kernel_problem(name, d, lower, upper, f_opt, x_opt, on_error) -> Problem:
    return Problem(
        KernelObjective(name),
        Box(lower, upper, dim=d),
        vectorized=True,
        f_opt=f_opt,
        x_opt=x_opt,
        name=name,
        on_error=on_error,
    )


def _zero_at(name, lower, upper, x_value, dim, on_error, minimum=1) -> Problem:
    d = _check_dim(name, dim, minimum=minimum)
    return _kernel_problem(name, d, lower, upper, 0.0, np.full(d, x_value), on_error)


def sphere_problem(dim=None, *, on_error="raise") -> Problem:
    """Sphere on [-5.12, 5.12]^d; f* = 0 at the origin."""
    return _zero_at("sphere", -5.12, 5.12, 0.0, dim, on_error)


def ellipsoid_problem(dim=None, *, on_error="raise") -> Problem:
    """Axis-parallel ellipsoid (condition 1e6) on [-5, 5]^d; f* = 0 at the origin."""
    return _zero_at("ellipsoid", -5.0, 5.0, 0.0, dim, on_error)


def rosenbrock_problem(dim=None, *, on_error="raise") -> Problem:
    """Rosenbrock on [-5, 10]^d, d >= 2; f* = 0 at (1, ..., 1)."""
    return _zero_at("rosenbrock", -5.0, 10.0, 1.0, dim, on_error, minimum=2)


def rastrigin_problem(dim=None, *, on_error="raise") -> Problem:
    """Rastrigin on [-5.12, 5.12]^d; f* = 0 at the origin."""
    return _zero_at("rastrigin", -5.12, 5.12, 0.0, dim, on_error)


def ackley_problem(dim=None, *, on_error="raise") -> Problem:
    """Ackley (a=20, b=0.2, c=2 pi) on [-32.768, 32.768]^d; f* = 0 at the origin."""
    return _zero_at("ackley", -32.768, 32.768, 0.0, dim, on_error)


def griewank_problem(dim=None, *, on_error="raise") -> Problem:
    """Griewank on [-600, 600]^d; f* = 0 at the origin."""
    return _zero_at("griewank", -600.0, 600.0, 0.0, dim, on_error)


def levy_problem(dim=None, *, on_error="raise") -> Problem:
    """Levy on [-10, 10]^d; f* = 0 at (1, ..., 1)."""
    return _zero_at("levy", -10.0, 10.0, 1.0, dim, on_error)


def schwefel_problem(dim=None, *, on_error="raise") -> Problem:
    """Schwefel 2.26 (``418.9829 d - sum x sin(sqrt|x|)``) on [-500, 500]^d.

    With the customary constant 418.9829 the minimum is ``1.2727566e-5 d`` (not exactly 0) at
    ``x_j = 420.96874636``; ``f_opt`` holds that exact value.
    """
    d = _check_dim("schwefel", dim)
    return _kernel_problem("schwefel", d, -500.0, 500.0, SCHWEFEL_MIN_PER_DIM * d, np.full(d, SCHWEFEL_XOPT), on_error)


def styblinski_tang_problem(dim=None, *, on_error="raise") -> Problem:
    """Styblinski-Tang on [-5, 5]^d; f* = -39.16616570377141 d at x_j = -2.903534027771177."""
    d = _check_dim("styblinski_tang", dim)
    return _kernel_problem(
        "styblinski_tang", d, -5.0, 5.0, STYBLINSKI_TANG_MIN_PER_DIM * d, np.full(d, STYBLINSKI_TANG_XOPT), on_error
    )


def michalewicz_problem(dim=None, *, on_error="raise") -> Problem:
    """Michalewicz (m = 10) on [0, pi]^d; f* computed coordinate-wise (-9.66015 for d = 10)."""
    d = _check_dim("michalewicz", dim)
    x_opt, f_opt = michalewicz_optimum(d)
    return _kernel_problem("michalewicz", d, 0.0, math.pi, f_opt, x_opt, on_error)


def _fixed_problem(name, fun, d, dim, lower, upper, f_opt, x_opt, on_error) -> Problem:
    _check_fixed_dim(name, dim, d)
    return Problem(fun, Box(lower, upper), vectorized=True, f_opt=f_opt, x_opt=x_opt, name=name, on_error=on_error)


def branin_problem(dim=None, *, on_error="raise") -> Problem:
    """Branin on [-5, 10] x [0, 15]; three global minima (:data:`BRANIN_MINIMIZERS`), f* = 5/(4 pi)."""
    return _fixed_problem("branin", branin, 2, dim, [-5.0, 0.0], [10.0, 15.0], BRANIN_MIN, BRANIN_MINIMIZERS[1], on_error)


def hartmann3_problem(dim=None, *, on_error="raise") -> Problem:
    """Hartmann 3 on [0, 1]^3; f* = -3.862779787 (published -3.86278)."""
    return _fixed_problem("hartmann3", hartmann3, 3, dim, [0.0] * 3, [1.0] * 3, HARTMANN3_MIN, HARTMANN3_XOPT, on_error)


def hartmann6_problem(dim=None, *, on_error="raise") -> Problem:
    """Hartmann 6 on [0, 1]^6; f* = -3.322368011 (published -3.32237)."""
    return _fixed_problem("hartmann6", hartmann6, 6, dim, [0.0] * 6, [1.0] * 6, HARTMANN6_MIN, HARTMANN6_XOPT, on_error)


def six_hump_camel_problem(dim=None, *, on_error="raise") -> Problem:
    """Six-hump camel on [-3, 3] x [-2, 2]; f* = -1.0316284535 at +-(0.0898420, -0.7126564)."""
    return _fixed_problem(
        "six_hump_camel", six_hump_camel, 2, dim, [-3.0, -2.0], [3.0, 2.0], SIX_HUMP_CAMEL_MIN, SIX_HUMP_CAMEL_XOPT, on_error
    )


def goldstein_price_problem(dim=None, *, on_error="raise") -> Problem:
    """Goldstein-Price on [-2, 2]^2; f* = 3 at (0, -1)."""
    return _fixed_problem("goldstein_price", goldstein_price, 2, dim, [-2.0, -2.0], [2.0, 2.0], 3.0, [0.0, -1.0], on_error)


PROBLEMS: dict[str, Callable[..., Problem]] = {
    "sphere": sphere_problem,
    "ellipsoid": ellipsoid_problem,
    "rosenbrock": rosenbrock_problem,
    "rastrigin": rastrigin_problem,
    "ackley": ackley_problem,
    "griewank": griewank_problem,
    "levy": levy_problem,
    "schwefel": schwefel_problem,
    "styblinski_tang": styblinski_tang_problem,
    "michalewicz": michalewicz_problem,
    "branin": branin_problem,
    "hartmann3": hartmann3_problem,
    "hartmann6": hartmann6_problem,
    "six_hump_camel": six_hump_camel_problem,
    "goldstein_price": goldstein_price_problem,
}

# the dimension-free ones, whose batch function is a native kernel
KERNEL_NAMES = _tf.NAMES

__all__ = [
    "BRANIN_MINIMIZERS",
    "KERNEL_NAMES",
    "PROBLEMS",
    "KernelObjective",
    "ackley",
    "branin",
    "ellipsoid",
    "goldstein_price",
    "griewank",
    "hartmann3",
    "hartmann6",
    "levy",
    "michalewicz",
    "michalewicz_optimum",
    "rastrigin",
    "rosenbrock",
    "schwefel",
    "six_hump_camel",
    "sphere",
    "styblinski_tang",
    *[f"{k}_problem" for k in PROBLEMS],
]

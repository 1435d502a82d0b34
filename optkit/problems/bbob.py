"""COCO's 24 noiseless BBOB functions (f1..f24), instance for instance as COCO defines them.

Each :class:`BBOBFunction` holds one instance -- the optimum's location and value, rotation
matrices, Gallagher's peaks -- generated from the instance number with COCO's legacy random number
generator, and evaluates a whole batch ``(n, d)`` with vectorized numpy. Values agree with COCO's
reference C implementation (``cocoex``) to rounding. :func:`bbob` wraps one in an optkit
:class:`~optkit.core.problem.Problem` on the box [-5, 5]^d.

Examples
--------
>>> import numpy as np
>>> f = BBOBFunction(1, dim=3, instance=1)
>>> bool(np.isclose(f(f.x_opt), f.f_opt))
True
>>> f(np.zeros((4, 3))).shape
(4,)
>>> p = bbob(8, dim=5, instance=2)
>>> p.name, p.dim
('bbob_f8_d5_i2', 5)
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.problems import _bbob_transforms as T

BBOB_FUNCTIONS: dict[int, str] = {
    1: "sphere",
    2: "ellipsoid_separable",
    3: "rastrigin_separable",
    4: "bueche_rastrigin",
    5: "linear_slope",
    6: "attractive_sector",
    7: "step_ellipsoid",
    8: "rosenbrock",
    9: "rosenbrock_rotated",
    10: "ellipsoid",
    11: "discus",
    12: "bent_cigar",
    13: "sharp_ridge",
    14: "different_powers",
    15: "rastrigin",
    16: "weierstrass",
    17: "schaffers_f7",
    18: "schaffers_f7_ill_conditioned",
    19: "griewank_rosenbrock",
    20: "schwefel",
    21: "gallagher_101_peaks",
    22: "gallagher_21_peaks",
    23: "katsuura",
    24: "lunacek_bi_rastrigin",
}

_TWO_PI = 2.0 * math.pi
_CHUNK = 512  # rows per block where a function builds (n, peaks, d) or (n, d, k) temporaries


# --------------------------------------------------------------------------------------------
# raw functions on transformed variables z (n, d) -> (n,)


def _sphere(z):
    return np.sum(z * z, axis=1)


@functools.lru_cache(maxsize=256)
def _weights(cond: float, d: int) -> np.ndarray:
    w = T.powers(cond, T.exponents(d))
    w.flags.writeable = False
    return w


def _ellipsoid(z, cond=1e6):
    return np.sum(_weights(cond, z.shape[1]) * z * z, axis=1)


def _rastrigin(z):
    d = z.shape[1]
    return 10.0 * (d - np.sum(np.cos(_TWO_PI * z), axis=1)) + np.sum(z * z, axis=1)


def _rosenbrock(z):
    a = z[:, :-1] * z[:, :-1] - z[:, 1:]
    b = z[:, :-1] - 1.0
    return 100.0 * np.sum(a * a, axis=1) + np.sum(b * b, axis=1)


def _schaffers(z):
    s = z[:, :-1] ** 2 + z[:, 1:] ** 2
    terms = np.power(s, 0.25) * (1.0 + np.sin(50.0 * np.power(s, 0.1)) ** 2)
    return (np.sum(terms, axis=1) / (z.shape[1] - 1.0)) ** 2


def _weierstrass_sum(z, p):
    out = np.empty(z.shape[0])
    for s in range(0, z.shape[0], _CHUNK):
        zz = z[s : s + _CHUNK]
        arg = (_TWO_PI * (zz + 0.5))[:, :, None] * p["bk"]
        out[s : s + _CHUNK] = np.sum(np.cos(arg) * p["ak"], axis=(1, 2))
    return 10.0 * (out / z.shape[1] - p["f0"]) ** 3


def _schwefel_raw(z):
    d = z.shape[1]
    pen = T.f_pen(z, 500.0)
    s = np.sum(z * np.sin(np.sqrt(np.abs(z))), axis=1)
    return 0.01 * (pen + 418.9828872724339 - s / d)


def _katsuura_raw(z):
    d = z.shape[1]
    acc = np.zeros_like(z)
    for j in range(1, 33):
        t = 2.0**j * z
        acc += np.abs(t - T.round_half_up(t)) / 2.0**j
    prod = np.prod(1.0 + np.arange(1, d + 1, dtype=np.float64) * acc, axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        return 10.0 / d / d * (-1.0 + np.power(prod, 10.0 / d**1.2))


# --------------------------------------------------------------------------------------------
# evaluators: (params, X) -> f(X) with f_opt and penalties included


def _f1(p, X):
    return _sphere(X - p["xopt"]) + p["fopt"]


def _f2(p, X):
    return _ellipsoid(T.t_osz(X - p["xopt"])) + p["fopt"]


def _f3(p, X):
    z = T.t_asy(T.t_osz(X - p["xopt"]), 0.2) * p["lam"]
    return _rastrigin(z) + p["fopt"]


def _f4(p, X):
    z = T.t_osz(X - p["xopt"])
    z = z * np.where((z > 0.0) & p["even"], 10.0 * p["lam"], p["lam"])
    return (_rastrigin(z) + p["fopt"]) + 100.0 * T.f_pen(X)


def _f5(p, X):
    s, xopt = p["slope"], p["xopt"]
    z = np.where(xopt * X >= 25.0, xopt, X)  # beyond the optimum (outside the box) the slope is flat
    return np.sum(5.0 * np.abs(s) - s * z, axis=1) + p["fopt"]


def _f6(p, X):
    z = (X - p["xopt"]) @ p["M"].T
    w = np.where(p["xopt"] * z > 0.0, 1e4, 1.0)
    raw = np.sum(w * z * z, axis=1)
    with np.errstate(invalid="ignore"):
        return np.power(T.t_osz(raw), 0.9) + p["fopt"]


def _f7(p, X):
    pen = T.f_pen(X)
    z = (X - p["xopt"]) @ p["LQ"].T
    z1 = z[:, 0].copy()
    z = np.where(np.abs(z) > 0.5, T.round_half_up(z), T.round_half_up(10.0 * z) / 10.0)
    zz = z @ p["R"].T
    raw = _ellipsoid(zz, 100.0)
    return 0.1 * np.maximum(np.abs(z1) * 1.0e-4, raw) + pen + p["fopt"]


def _f8(p, X):
    return _rosenbrock(p["factor"] * (X - p["xopt"]) + 1.0) + p["fopt"]


def _f9(p, X):
    return _rosenbrock(X @ p["M"].T + 0.5) + p["fopt"]


def _f10(p, X):
    return _ellipsoid(T.t_osz((X - p["xopt"]) @ p["R"].T)) + p["fopt"]


def _f11(p, X):
    z = T.t_osz((X - p["xopt"]) @ p["R"].T)
    return 1e6 * z[:, 0] ** 2 + np.sum(z[:, 1:] ** 2, axis=1) + p["fopt"]


def _f12(p, X):
    z = T.t_asy((X - p["xopt"]) @ p["R"].T, 0.5) @ p["R"].T
    return z[:, 0] ** 2 + 1e6 * np.sum(z[:, 1:] ** 2, axis=1) + p["fopt"]


def _f13(p, X):
    z = (X - p["xopt"]) @ p["M"].T
    return 100.0 * np.sqrt(np.sum(z[:, 1:] ** 2, axis=1)) + z[:, 0] ** 2 + p["fopt"]


def _f14(p, X):
    z = (X - p["xopt"]) @ p["R"].T
    return np.sqrt(np.sum(np.abs(z) ** p["powers"], axis=1)) + p["fopt"]


def _f15(p, X):
    z = T.t_asy(T.t_osz((X - p["xopt"]) @ p["R"].T), 0.2) @ p["M"].T
    return _rastrigin(z) + p["fopt"]


def _f16(p, X):
    z = T.t_osz((X - p["xopt"]) @ p["R"].T) @ p["M"].T
    return (_weierstrass_sum(z, p) + p["fopt"]) + p["pen_factor"] * T.f_pen(X)


def _f17(p, X):
    z = T.t_asy((X - p["xopt"]) @ p["R"].T, 0.5) @ p["M"].T
    return (_schaffers(z) + p["fopt"]) + 10.0 * T.f_pen(X)


def _f19(p, X):
    # cos(t) of t up to ~1e6 outside the box amplifies the last bits of z: sum in COCO's order
    z = T.affine_seq(X, p["M"]) + 0.5
    a = z[:, :-1] * z[:, :-1] - z[:, 1:]
    b = 1.0 - z[:, :-1]
    t = 100.0 * a * a + b * b
    return 10.0 + 10.0 * np.sum(t / 4000.0 - np.cos(t), axis=1) / (z.shape[1] - 1) + p["fopt"]


def _f20(p, X):
    x = 2.0 * (X * p["sign"])
    z = x.copy()
    z[:, 1:] += 0.25 * (x[:, :-1] - p["two_abs_xopt"][:-1])
    z = 100.0 * ((z - p["two_abs_xopt"]) * p["lam"] + p["two_abs_xopt"])
    return _schwefel_raw(z) + p["fopt"]


def _f21(p, X):
    d = X.shape[1]
    pen = T.f_pen(X)
    tmx = X @ p["R"].T
    peaks, scales, heights = p["peaks"], p["scales"], p["heights"]
    best = np.zeros(X.shape[0])
    for s in range(0, X.shape[0], _CHUNK):
        diff = tmx[s : s + _CHUNK, None, :] - peaks  # (m, P, d)
        np.multiply(diff, diff, out=diff)
        diff *= scales
        q = np.sum(diff, axis=2)
        best[s : s + _CHUNK] = np.max(heights * np.exp((-0.5 / d) * q), axis=1, initial=0.0)
    return (T.t_osz(10.0 - best) ** 2 + pen) + p["fopt"]


def _f23(p, X):
    z = (X - p["xopt"]) @ p["M"].T
    return (_katsuura_raw(z) + p["fopt"]) + T.f_pen(X)


def _f24(p, X):
    d = X.shape[1]
    mu0, mu1, s = 2.5, p["mu1"], p["s"]
    pen = T.f_pen(X)
    xh = 2.0 * X * p["sign"]
    z = ((xh - mu0) @ p["LQ"].T) @ p["R"].T
    a = np.sum((xh - mu0) ** 2, axis=1)
    b = d * 1.0 + s * np.sum((xh - mu1) ** 2, axis=1)
    return np.minimum(a, b) + 10.0 * (d - np.sum(np.cos(_TWO_PI * z), axis=1)) + 1e4 * pen + p["fopt"]


_EVAL = {
    1: _f1, 2: _f2, 3: _f3, 4: _f4, 5: _f5, 6: _f6, 7: _f7, 8: _f8, 9: _f9, 10: _f10, 11: _f11, 12: _f12,
    13: _f13, 14: _f14, 15: _f15, 16: _f16, 17: _f17, 18: _f17, 19: _f19, 20: _f20, 21: _f21, 22: _f21,
    23: _f23, 24: _f24,
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# instance data


def _gallagher(p: dict, d: int, seed: int, n_peaks: int) -> np.ndarray:
    """Peaks, per-peak scalings and heights of f21 (101 peaks) / f22 (21 peaks); returns x_opt."""
    if n_peaks == 101:
        first_condition, b, c = math.sqrt(1000.0), 10.0, 5.0
    else:
        first_condition, b, c = 1000.0, 9.8, 4.9
    R = T.rotation(seed, d)
    order = np.argsort(T.unif(n_peaks - 1, seed), kind="stable")
    conditions = np.empty(n_peaks)
    conditions[0] = first_condition
    conditions[1:] = T.powers(1000.0, order / (n_peaks - 2.0))
    heights = np.empty(n_peaks)
    heights[0] = 10.0
    heights[1:] = np.arange(n_peaks - 1, dtype=np.float64) / (n_peaks - 2.0) * (9.1 - 1.1) + 1.1
    scales = np.empty((n_peaks, d))
    for i in range(n_peaks):
        rank = np.argsort(T.unif(d, seed + 1000 * i), kind="stable")
        scales[i] = T.powers(conditions[i], rank / (d - 1.0) - 0.5)
    y = b * T.unif(d * n_peaks, seed).reshape(n_peaks, d) - c
    peaks = T.affine_seq(y, R)
    peaks[0] *= 0.8
    p.update(R=R, peaks=peaks, scales=scales, heights=heights)
    return 0.8 * y[0]


def _instance(function: int, d: int, instance: int) -> tuple[dict, np.ndarray]:
    """COCO's instance data for f<function> in dimension d, and the optimum's location."""
    rseed = {4: 3, 18: 17}.get(function, function) + 10000 * instance
    p: dict = {"fopt": T.fopt(function, instance)}
    f = function
    if f in (1, 2, 3, 4, 6, 7, 8, 10, 11, 13, 14, 15, 16, 17, 18, 23):
        xopt = T.xopt(rseed, d)
    if f in (6, 7, 10, 11, 13, 14, 15, 16, 17, 18, 23, 24):
        R = T.rotation(rseed + 1000000, d)
    if f in (6, 7, 13, 15, 16, 17, 18, 23, 24):
        Q = T.rotation(rseed, d)
    e = T.exponents(d)

    if f in (1, 2, 10, 11, 14):
        p.update(xopt=xopt)
        if f in (10, 11, 14):
            p.update(R=R)
        if f == 14:
            p.update(powers=2.0 + 4.0 * np.arange(d, dtype=np.float64) / (d - 1.0))
    elif f == 3:
        p.update(xopt=xopt, lam=T.powers(10.0, 0.5 * np.arange(d, dtype=np.float64) / (d - 1.0)))
    elif f == 4:
        xopt[0::2] = np.abs(xopt[0::2])
        p.update(xopt=xopt, lam=T.powers(math.sqrt(10.0), e), even=(np.arange(d) % 2 == 0))
    elif f == 5:
        xopt = np.where(T.xopt(rseed, d) < 0.0, -5.0, 5.0)
        p.update(xopt=xopt, slope=np.where(xopt > 0.0, 1.0, -1.0) * T.powers(math.sqrt(100.0), e))
    elif f in (6, 13, 15, 23):
        base = math.sqrt(100.0) if f == 23 else math.sqrt(10.0)
        p.update(xopt=xopt, M=T.rot_lambda_rot(R, base, Q))
        if f == 15:
            p.update(R=R)
    elif f == 7:
        p.update(xopt=xopt, R=R, LQ=np.sqrt(T.powers(10.0, e))[:, None] * Q)
    elif f == 8:
        xopt = 0.75 * xopt
        p.update(xopt=xopt, factor=max(1.0, math.sqrt(d) / 8.0))
    elif f in (9, 19):
        R = T.rotation(rseed, d)
        factor = max(1.0, math.sqrt(d) / 8.0)
        M = factor * R
        p.update(M=M)
        # z = M x + 1/2 is 1 at x_opt = R^T 1 / (2 factor); COCO sums the (scaled, for f19) columns
        xopt = np.add.accumulate(M if f == 19 else R, axis=0)[-1] / (2.0 * factor)
    elif f == 12:
        xopt = T.xopt(rseed + 1000000, d)
        p.update(xopt=xopt, R=T.rotation(rseed + 1000000, d))
    elif f == 16:
        k = np.arange(12, dtype=np.float64)
        ak, bk = 0.5**k, 3.0**k
        p.update(xopt=xopt, R=R, M=T.rot_lambda_rot(R, 1.0 / math.sqrt(100.0), Q), ak=ak, bk=bk)
        f0 = 0.0
        for a, b in zip(ak.tolist(), bk.tolist()):
            f0 += a * math.cos(_TWO_PI * b * 0.5)
        p.update(f0=f0, pen_factor=10.0 / d)
    elif f in (17, 18):
        cond = 10.0 if f == 17 else 1000.0
        p.update(xopt=xopt, R=R, M=T.lambda_diag(cond, d)[:, None] * Q)
    elif f == 20:
        sign = np.where(T.unif(d, rseed) - 0.5 < 0.0, -1.0, 1.0)
        p.update(sign=sign, two_abs_xopt=2.0 * np.abs(0.5 * 4.2096874637 * sign), lam=T.lambda_diag(10.0, d))
        xopt = 0.5 * 4.2096874633 * sign  # COCO's best_parameter (its digits differ from the shift's)
    elif f in (21, 22):
        xopt = _gallagher(p, d, rseed, 101 if f == 21 else 21)
    elif f == 24:
        sign = np.where(T.gauss(d, rseed) < 0.0, -1.0, 1.0)
        s = 1.0 - 0.5 / (math.sqrt(d + 20.0) - 4.1)
        p.update(sign=sign, R=R, LQ=T.lambda_diag(100.0, d)[:, None] * Q, s=s, mu1=-math.sqrt((2.5**2 - 1.0) / s))
        xopt = 1.25 * sign
    return p, np.asarray(xopt, dtype=np.float64)


def _best_value(function: int, p: dict, x_opt: np.ndarray) -> float:
    """f_opt as COCO computes it (its ``best_value``)."""
    d = x_opt.size
    if function == 16:  # the raw Weierstrass function at 0 is zero only up to rounding; COCO keeps that
        acc = 0.0
        for _ in range(d):
            for a, b in zip(p["ak"].tolist(), p["bk"].tolist()):
                acc += math.cos(_TWO_PI * 0.5 * b) * a
        return 10.0 * (acc / d - p["f0"]) ** 3 + p["fopt"]
    if function == 20:  # COCO evaluates the raw Schwefel function at 420.96874633 in every coordinate
        v = 420.96874633
        acc = 0.0
        for _ in range(d):
            acc += v * math.sin(math.sqrt(v))
        return 0.01 * (0.0 + 418.9828872724339 - acc / d) + p["fopt"]
    if function in (21, 22):
        return float(_f21(p, x_opt[None, :])[0])
    return float(p["fopt"])


# --------------------------------------------------------------------------------------------
# public API


def _check_int(caller: str, name: str, value, low: int, expected: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < low:
        raise InvalidParameterError(f"{caller}: {name!r} must be {expected}, got {value!r}")
    return int(value)


def _check_args(caller: str, function, dim, instance) -> tuple[int, int, int]:
    if isinstance(function, bool) or not isinstance(function, numbers.Integral) or not 1 <= int(function) <= 24:
        raise InvalidParameterError(f"{caller}: 'function' must be an int in 1..24, got {function!r}")
    d = _check_int(caller, "dim", dim, 2, "an int >= 2")
    i = _check_int(caller, "instance", instance, 1, "an int >= 1")
    return int(function), d, i


class BBOBFunction:
    """COCO's BBOB function f<function> (1..24), instance ``instance``, in ``dim`` dimensions.

    Calling it on ``X`` of shape (n, dim) returns the n values (float64); on one point (dim,) it
    returns a 0-d float. ``x_opt`` and ``f_opt`` are COCO's optimum (its ``best_parameter`` and
    ``best_value``). All instance data are plain numpy arrays, so the object pickles.
    """

    def __init__(self, function: int, dim: int, instance: int = 1):
        function, dim, instance = _check_args("BBOBFunction", function, dim, instance)
        self.function, self.dim, self.instance = function, dim, instance
        self.name = BBOB_FUNCTIONS[function]
        self.params, x_opt = _instance(function, dim, instance)
        self.x_opt = x_opt
        self.f_opt = _best_value(function, self.params, x_opt)

    def __call__(self, X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim not in (1, 2) or X.shape[-1] != self.dim:
            raise InvalidParameterError(f"{self!r}: 'X' must have shape (n, {self.dim}) or ({self.dim},), got {X.shape}")
        single = X.ndim == 1
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # NaN/inf in, NaN/inf out
            y = _EVAL[self.function](self.params, X[None, :] if single else X)
        return np.float64(y[0]) if single else np.asarray(y, dtype=np.float64)

    def __repr__(self) -> str:
        return f"BBOBFunction(function={self.function}, dim={self.dim}, instance={self.instance})"


def bbob(function, dim=10, instance=1, *, on_error="raise"):
    """COCO's BBOB f<function> as an optkit Problem on the box [-5, 5]^dim with f_opt and x_opt set.

    ``function`` is 1..24 (see :data:`BBOB_FUNCTIONS`), ``dim`` >= 2, ``instance`` >= 1; the
    instance is the one COCO (``cocoex``) builds for the same numbers. The problem is vectorized.
    """
    from optkit.core.problem import Problem
    from optkit.core.space import Box

    function, dim, instance = _check_args("bbob()", function, dim, instance)
    fun = BBOBFunction(function, dim, instance)
    return Problem(
        fun,
        Box(np.full(dim, -5.0), np.full(dim, 5.0)),
        vectorized=True,
        f_opt=fun.f_opt,
        x_opt=fun.x_opt,
        name=f"bbob_f{function}_d{dim}_i{instance}",
        on_error=on_error,
    )


__all__ = ["BBOB_FUNCTIONS", "BBOBFunction", "bbob"]

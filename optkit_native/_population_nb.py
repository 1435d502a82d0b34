"""numba kernels of the population methods; numpy twins in :mod:`optkit_native.population_kernels`.

Imported only by the dispatcher (:func:`optkit_native.kernel`), never at ``import optkit_native``.
Each kernel is compiled for one signature (float64 / int64 / boolean, C-contiguous arrays) with
``cache=True`` and ``fastmath=False``, serially (these kernels take microseconds to a millisecond:
threads would cost more than they save), on first access of its name (module ``__getattr__``). The
name is bound to a small wrapper that makes the arguments C-contiguous arrays of the compiled
types, so the kernels take whatever the twins take.

The loops repeat the twins' floating-point operations in the same order.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SBX_EPS = 1e-14  # keep equal to optkit_native.population_kernels.SBX_EPS


def _mmes_mix(Q, rows, r, N, c_mix, c_noise):
    h, d = N.shape
    Y = np.zeros((h, d))
    for i in range(h):
        for k in range(rows.shape[1]):
            q = rows[i, k]
            rk = r[i, k]
            for j in range(d):
                Y[i, j] += rk * Q[q, j]
        for j in range(d):
            Y[i, j] = Y[i, j] * c_mix + c_noise * N[i, j]
    return Y


def _spso_move(X, V, P, g, own, direction, u, w, c, volume, lower, upper):
    n, d = X.shape
    Xn = np.empty((n, d))
    Vn = np.empty((n, d))
    G = np.empty(d)
    for i in range(n):
        gi = g[i]
        r2 = 0.0
        n2 = 0.0
        for j in range(d):
            x = X[i, j]
            if own[i]:
                G[j] = x + c * (P[i, j] - x) / 2.0
            else:
                G[j] = x + c * (P[i, j] + P[gi, j] - 2.0 * x) / 3.0
            t = G[j] - x
            r2 += t * t
            e = direction[i, j]
            n2 += e * e
        norm = math.sqrt(n2)
        if norm == 0.0:
            norm = 1.0
        ui = u[i] ** (1.0 / d) if volume else u[i]
        scale = math.sqrt(r2) * ui / norm
        for j in range(d):
            x = X[i, j]
            v = w * V[i, j] + (G[j] + direction[i, j] * scale) - x
            xn = x + v
            if xn < lower[j]:
                xn = lower[j]
                v *= -0.5
            elif xn > upper[j]:
                xn = upper[j]
                v *= -0.5
            Xn[i, j] = xn
            Vn[i, j] = v
    return Xn, Vn


def _clpso_velocity(X, V, P, exemplars, U, w, c, vmax):
    n, d = X.shape
    out = np.empty((n, d))
    for i in range(n):
        for j in range(d):
            v = w * V[i, j] + c * U[i, j] * (P[exemplars[i, j], j] - X[i, j])
            if v < -vmax[j]:
                v = -vmax[j]
            elif v > vmax[j]:
                v = vmax[j]
            out[i, j] = v
    return out


def _de_bin_trials(X, i0, i1, i2, F, current, R, CR, jrand, lower, upper):
    n, d = X.shape
    out = np.empty((n, d))
    for i in range(n):
        a, b, e = i0[i], i1[i], i2[i]
        for j in range(d):
            x = X[i, j]
            if current:
                v = (x + F * (X[a, j] - x)) + F * (X[b, j] - X[e, j])
            else:
                v = X[a, j] + F * (X[b, j] - X[e, j])
            if v < lower[j]:
                v = 0.5 * (lower[j] + x)
            if v > upper[j]:
                v = 0.5 * (upper[j] + x)
            out[i, j] = v if (R[i, j] < CR[i] or j == jrand[i]) else x
    return out


def _de_pbest_trials(X, A, pbest, r1, r2, F, R, CR, jrand, lower, upper):
    n, d = X.shape
    out = np.empty((n, d))
    for i in range(n):
        p, a, b = pbest[i], r1[i], r2[i]
        for j in range(d):
            x = X[i, j]
            other = X[b, j] if b < n else A[b - n, j]
            v = x + F[i] * (X[p, j] - x + X[a, j] - other)
            if v < lower[j]:
                v = 0.5 * (lower[j] + x)
            if v > upper[j]:
                v = 0.5 * (upper[j] + x)
            out[i, j] = v if (R[i, j] < CR[i] or j == jrand[i]) else x
    return out


@njit(cache=True)
def _betaq(beta, u, eta, e):
    alpha = 2.0 - beta ** (-(eta + 1.0))
    ua = u * alpha
    if ua <= 1.0:
        return ua**e
    return (1.0 / (2.0 - ua)) ** e


def _ga_crossover(P1, P2, lower, upper, eta, u, do, swap):
    n, d = P1.shape
    C1 = P1.copy()
    C2 = P2.copy()
    e = 1.0 / (eta + 1.0)
    for i in range(n):
        for j in range(d):
            if not do[i, j]:
                continue
            a = min(P1[i, j], P2[i, j])
            b = max(P1[i, j], P2[i, j])
            span = b - a
            if span > SBX_EPS:
                lo, hi = lower[j], upper[j]
                c_low = 0.5 * (a + b - _betaq(1.0 + 2.0 * (a - lo) / span, u[i, j], eta, e) * span)
                c_high = 0.5 * (a + b + _betaq(1.0 + 2.0 * (hi - b) / span, u[i, j], eta, e) * span)
                c_low = min(max(c_low, lo), hi)
                c_high = min(max(c_high, lo), hi)
            else:
                c_low, c_high = a, b
            if swap[i, j]:
                C1[i, j], C2[i, j] = c_high, c_low
            else:
                C1[i, j], C2[i, j] = c_low, c_high
    return C1, C2


def _ga_mutation(K, lower, upper, eta, u, mask):
    n, d = K.shape
    out = K.copy()
    e = 1.0 / (eta + 1.0)
    for i in range(n):
        for j in range(d):
            if not mask[i, j]:
                continue
            y, lo, hi, uij = K[i, j], lower[j], upper[j], u[i, j]
            width = hi - lo
            if uij <= 0.5:
                d1 = (y - lo) / width
                val = 2.0 * uij + (1.0 - 2.0 * uij) * (1.0 - d1) ** (eta + 1.0)
                dq = val**e - 1.0
            else:
                d2 = (hi - y) / width
                val = 2.0 * (1.0 - uij) + 2.0 * (uij - 0.5) * (1.0 - d2) ** (eta + 1.0)
                dq = 1.0 - val**e
            out[i, j] = min(max(y + dq * width, lo), hi)
    return out


_F1, _F2, _I1, _I2, _B1, _B2 = "float64[::1]", "float64[:, ::1]", "int64[::1]", "int64[:, ::1]", "boolean[::1]", "boolean[:, ::1]"

# name -> (python source, signature, argument kinds: "f1"/"f2" float arrays, "i1"/"i2" int arrays,
# "b1"/"b2" bool arrays, "f" float, "b" bool)
_KERNELS = {
    "mmes_mix": (_mmes_mix, f"{_F2}({_F2}, {_I2}, {_F2}, {_F2}, float64, float64)", "f2 i2 f2 f2 f f"),
    "spso_move": (_spso_move, f"Tuple(({_F2}, {_F2}))({_F2}, {_F2}, {_F2}, {_I1}, {_B1}, {_F2}, {_F1}, float64, "
                  f"float64, boolean, {_F1}, {_F1})", "f2 f2 f2 i1 b1 f2 f1 f f b f1 f1"),
    "clpso_velocity": (_clpso_velocity, f"{_F2}({_F2}, {_F2}, {_F2}, {_I2}, {_F2}, float64, float64, {_F1})",
                       "f2 f2 f2 i2 f2 f f f1"),
    "de_bin_trials": (_de_bin_trials, f"{_F2}({_F2}, {_I1}, {_I1}, {_I1}, float64, boolean, {_F2}, {_F1}, {_I1}, "
                      f"{_F1}, {_F1})", "f2 i1 i1 i1 f b f2 f1 i1 f1 f1"),
    "de_pbest_trials": (_de_pbest_trials, f"{_F2}({_F2}, {_F2}, {_I1}, {_I1}, {_I1}, {_F1}, {_F2}, {_F1}, {_I1}, "
                        f"{_F1}, {_F1})", "f2 f2 i1 i1 i1 f1 f2 f1 i1 f1 f1"),
    "ga_crossover": (_ga_crossover, f"Tuple(({_F2}, {_F2}))({_F2}, {_F2}, {_F1}, {_F1}, float64, {_F2}, {_B2}, {_B2})",
                     "f2 f2 f1 f1 f f2 b2 b2"),
    "ga_mutation": (_ga_mutation, f"{_F2}({_F2}, {_F1}, {_F1}, float64, {_F2}, {_B2})", "f2 f1 f1 f f2 b2"),
}

_DTYPES = {"f": np.float64, "i": np.int64, "b": np.bool_}


def _coercer(kind: str):
    if len(kind) == 1:
        return float if kind == "f" else bool
    dtype = _DTYPES[kind[0]]
    return lambda a: np.ascontiguousarray(a, dtype=dtype)


def _compile(name: str):
    source, signature, kinds = _KERNELS[name]
    fn = njit(signature, cache=True, fastmath=False)(source)
    coercers = [_coercer(k) for k in kinds.split()]

    def call(*args):
        return fn(*(conv(a) for conv, a in zip(coercers, args, strict=True)))

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"numba kernel {name!r} (twin: optkit_native.population_kernels.{name})."
    call.compiled = fn
    return call


def __getattr__(name: str):
    if name in _KERNELS:
        fn = _compile(name)
        globals()[name] = fn  # later lookups bypass __getattr__
        return fn
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_KERNELS))

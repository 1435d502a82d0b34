"""Instance generation and variable/objective transformations of COCO's BBOB functions.

Everything here reproduces the definitions of COCO's reference C code (the "legacy" BBOB 2009
generators that the ``bbob`` suite still uses), so that an instance built here is the instance COCO
builds for the same (function, dimension, instance):

* :func:`unif` / :func:`gauss` -- the legacy Park-Miller generator with a 32-slot shuffle table,
  and Box-Muller Gaussians drawn from it;
* :func:`rotation` -- a random orthogonal matrix: Gaussian entries orthonormalized column by column
  (modified Gram-Schmidt);
* :func:`xopt` / :func:`fopt` -- the optimum's location and value;
* :func:`t_osz`, :func:`t_asy`, :func:`lambda_diag`, :func:`f_pen` -- the transformations of the
  BBOB definitions (oscillation, asymmetry, diagonal conditioning, boundary penalty).

The transformations work on a batch ``(n, d)`` at once.
"""

from __future__ import annotations

import math

import numpy as np

_PM_A = 16807
_PM_Q = 127773
_PM_R = 2836
_PM_M = 2147483647


def unif(n: int, seed: int) -> np.ndarray:
    """``n`` uniform numbers in (0, 1] from COCO's legacy generator started at ``seed``."""
    seed = abs(int(seed))
    if seed < 1:
        seed = 1
    a = seed
    table = [0] * 32
    for i in range(39, -1, -1):  # warm up, filling the shuffle table on the last 32 steps
        t = a // _PM_Q
        a = _PM_A * (a - t * _PM_Q) - _PM_R * t
        if a < 0:
            a += _PM_M
        if i < 32:
            table[i] = a
    current = table[0]
    out = [0.0] * n
    for i in range(n):
        t = a // _PM_Q
        a = _PM_A * (a - t * _PM_Q) - _PM_R * t
        if a < 0:
            a += _PM_M
        slot = current // 67108865
        current = table[slot]
        table[slot] = a
        r = current / 2.147483647e9
        out[i] = r if r != 0.0 else 1e-99
    return np.array(out, dtype=np.float64)


def gauss(n: int, seed: int) -> np.ndarray:
    """``n`` standard normal numbers (Box-Muller on :func:`unif` ``(2n, seed)``)."""
    u = unif(2 * n, seed).tolist()
    # libm's log/cos (math), not numpy's vector versions, so that the numbers agree to the bit
    g = [math.sqrt(-2.0 * math.log(u[i])) * math.cos(2.0 * math.pi * u[n + i]) for i in range(n)]
    return np.array([v if v != 0.0 else 1e-99 for v in g], dtype=np.float64)


def rotation(seed: int, dim: int) -> np.ndarray:
    """COCO's random rotation matrix ``B`` (dim, dim) for ``seed``; apply it as ``B @ x``."""
    g = gauss(dim * dim, seed)
    B = g.reshape(dim, dim).copy()  # row i of this array is column i of the matrix: B[i, j] = g[j * dim + i]
    for i in range(dim):
        col = B[i]
        for j in range(i):
            other = B[j]
            col -= _seqdot(col, other) * other
        col /= math.sqrt(_seqdot(col, col))
    return B.T.copy()


def _seqdot(a: np.ndarray, b: np.ndarray) -> float:
    """Dot product summed left to right, as the C loop does (so the matrices agree to the bit)."""
    return float(np.add.accumulate(a * b)[-1])


def xopt(seed: int, dim: int) -> np.ndarray:
    """The optimum's location for ``seed``: uniform on a 1e-4 grid in [-4, 4), never exactly 0."""
    u = unif(dim, seed)
    x = 8.0 * np.floor(1e4 * u) / 1e4 - 4.0
    x[x == 0.0] = -1e-5
    return x


def fopt(function: int, instance: int) -> float:
    """The optimal value of ``function`` (1..24) for ``instance``: round(100 * N1 / N2, 2) in [-1000, 1000]."""
    base = {4: 3, 18: 17}.get(function, function)
    seed = base + 10000 * instance
    g1 = float(gauss(1, seed)[0])
    g2 = float(gauss(1, seed + 1)[0])
    value = math.floor(100.0 * 100.0 * g1 / g2 + 0.5) / 100.0
    return min(1000.0, max(-1000.0, value))


def exponents(dim: int) -> np.ndarray:
    """``i / (dim - 1)`` for i = 0..dim-1, the exponents of every per-coordinate scaling."""
    return np.arange(dim, dtype=np.float64) / (dim - 1.0)


def powers(base: float, exps) -> np.ndarray:
    """``base ** e`` for each e, with C's ``pow`` (numpy's vector pow may differ in the last bit)."""
    return np.array([math.pow(base, float(e)) for e in np.ravel(exps)], dtype=np.float64)


def lambda_diag(alpha: float, dim: int) -> np.ndarray:
    """The diagonal of Lambda^alpha: ``sqrt(alpha) ** (i / (dim - 1))``."""
    return powers(math.sqrt(alpha), exponents(dim))


def rot_lambda_rot(R: np.ndarray, base: float, Q: np.ndarray) -> np.ndarray:
    """The matrix ``R @ diag(base ** (k / (d-1))) @ Q`` (``base`` = sqrt(alpha) for Lambda^alpha), summed as COCO does."""
    terms = (R * powers(base, exponents(R.shape[0])))[:, :, None] * Q[None, :, :]  # [i, k, j]
    return np.add.accumulate(terms, axis=1)[:, -1, :].copy()


def affine_seq(X: np.ndarray, M: np.ndarray, b: float = 0.0) -> np.ndarray:
    """``X @ M.T + b`` with each row summed left to right, as COCO's affine transformation does.

    Slower than the BLAS product; used where a function amplifies the last bits of its input.
    """
    Z = np.full((X.shape[0], M.shape[0]), b, dtype=np.float64)
    for j in range(X.shape[1]):
        Z += X[:, j : j + 1] * M[:, j]
    return Z


def _osz_core(x: np.ndarray) -> np.ndarray:
    """T_osz written as COCO writes it (log scaled by 1/0.1, then the 0.1-th power)."""
    pos = x > 0.0
    ax = np.abs(x)
    nonzero = ax > 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = np.log(np.where(nonzero, ax, 1.0)) / 0.1
        c1 = np.where(pos, 1.0, 0.55)
        c2 = np.where(pos, 0.79, 0.31)
        base = np.exp(t + 0.49 * (np.sin(c1 * t) + np.sin(c2 * t)))
        out = np.power(base, 0.1)
    out = np.where(pos, out, -out)
    return np.where(nonzero, out, x)  # 0 stays 0, NaN stays NaN


def t_osz(x: np.ndarray) -> np.ndarray:
    """The oscillation T_osz, elementwise (variables or objective values)."""
    return _osz_core(np.asarray(x, dtype=np.float64))


def t_asy(x: np.ndarray, beta: float) -> np.ndarray:
    """The asymmetry T_asy^beta on a batch (n, d): ``x_i ** (1 + beta * i/(d-1) * sqrt(x_i))`` where x_i > 0."""
    d = x.shape[-1]
    pos = x > 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        xp = np.where(pos, x, 0.0)
        e = 1.0 + (beta * np.arange(d, dtype=np.float64)) / (d - 1.0) * np.sqrt(xp)
        y = np.power(xp, e)
    return np.where(pos, y, x)


def f_pen(x: np.ndarray, bound: float = 5.0) -> np.ndarray:
    """The boundary penalty: sum over i of max(0, |x_i| - bound)^2, per row of (n, d)."""
    t = np.maximum(np.abs(x) - bound, 0.0)
    return np.sum(t * t, axis=-1)


def round_half_up(x: np.ndarray) -> np.ndarray:
    """C's ``floor(x + 0.5)``, the rounding COCO uses."""
    return np.floor(x + 0.5)

"""Kernels of the population methods: the numpy twins (the reference) of :mod:`optkit_native._population_nb`.

Each kernel takes *all* its random numbers as arguments: the optimizer draws them from its own seeded
``numpy.random.Generator`` in the same order as before, so a run gives the same points whichever side
:func:`optkit_native.kernel` picks (numba, or these twins with ``OPTKIT_NATIVE=0``). The numba kernels
repeat the twins' floating-point operations in the same order; they agree bit for bit where a kernel
uses only + - * / and comparisons (``mmes_mix``, ``clpso_velocity``, ``de_bin_trials``,
``de_pbest_trials``), and to rounding where it takes a power (``ga_crossover``, ``ga_mutation``: numpy
may use a vectorized ``pow`` that differs from libm's in the last bit) or sums a row
(``spso_move``: numpy sums pairwise, numba left to right).

Which optimizer uses which kernel, and the measured speed-ups, are in docs/native.md
(``python benchmarks/bench_population_kernels.py``).

Importing this module does not import numba.
"""

from __future__ import annotations

import numpy as np

from optkit_native._dispatch import register

#: parents closer than this are not crossed by SBX (Deb's EPS)
SBX_EPS = 1e-14


# -- MMES: mixing archived paths -------------------------------------------------------------------
def mmes_mix(Q, rows, r, N, c_mix: float, c_noise: float) -> np.ndarray:
    """MMES directions ``Y[i] = c_mix * sum_k r[i, k] Q[rows[i, k]] + c_noise * N[i]`` (h, d).

    ``Q`` (m, d) the archived paths, ``rows`` (h, l) the archive rows mixed into each direction,
    ``r`` (h, l) their standard-normal weights, ``N`` (h, d) standard-normal noise.
    """
    Y = np.zeros_like(N)
    for k in range(rows.shape[1]):
        Y += r[:, k, None] * Q[rows[:, k]]
    Y *= c_mix
    Y += c_noise * N
    return Y


# -- particle swarms ---------------------------------------------------------------------------------
def spso_move(X, V, P, g, own, direction, u, w: float, c: float, volume: bool, lower, upper):
    """One SPSO-2011 move of the swarm: returns (new positions, new velocities), both (n, d).

    ``P`` the best positions, ``g`` (n,) each particle's best informant, ``own`` (n,) True where it is
    its own; the random point x' lies in H(G, ||G - x||) along the Gaussian ``direction`` (n, d) at
    the distance ``||G - x|| u`` (``u ** (1/d)`` when ``volume``). Coordinates leaving the box are set
    on the bound and their velocity becomes -0.5 v (the SPSO-2011 confinement).
    """
    n, d = X.shape
    L = P[g]
    three = X + c * (P + L - 2.0 * X) / 3.0
    two = X + c * (P - X) / 2.0
    G = np.where(own[:, None], two, three)
    radii = np.linalg.norm(G - X, axis=1)
    norm = np.linalg.norm(direction, axis=1)
    norm[norm == 0.0] = 1.0
    scale = radii * (u ** (1.0 / d) if volume else u) / norm
    Vn = w * V + (G + direction * scale[:, None]) - X
    Xn = X + Vn
    out = (Xn < lower) | (Xn > upper)
    Xn = np.clip(Xn, lower, upper)
    Vn[out] *= -0.5
    return Xn, Vn


def clpso_velocity(X, V, P, exemplars, U, w: float, c: float, vmax) -> np.ndarray:
    """CLPSO's velocities ``clip(w v + c U (P[f(d)]_d - x), -vmax, vmax)`` (n, d); ``exemplars`` (n, d) holds f."""
    E = P[exemplars, np.arange(X.shape[1])]
    return np.clip(w * V + c * U * (E - X), -vmax, vmax)


# -- differential evolution --------------------------------------------------------------------------
def _repair_and_cross(V, X, R, CR, jrand, lower, upper) -> np.ndarray:
    V = np.where(V < lower, 0.5 * (lower + X), V)
    V = np.where(V > upper, 0.5 * (upper + X), V)
    mask = R < CR[:, None]
    mask[np.arange(len(X)), jrand] = True
    return np.where(mask, V, X)


def de_bin_trials(X, i0, i1, i2, F: float, current: bool, R, CR, jrand, lower, upper) -> np.ndarray:
    """DE trials: mutant, midpoint repair into the box, binomial crossover (n, d).

    The mutant is ``X[i0] + F (X[i1] - X[i2])`` (rand/1, best/1 with ``i0`` all best), or with
    ``current`` ``X + F (X[i0] - X) + F (X[i1] - X[i2])`` (current-to-best/1). A coordinate below
    ``lower`` becomes the midpoint of the parent's and the bound (above ``upper`` likewise); the
    trial takes the mutant's coordinate where ``R < CR[i]`` or ``j == jrand[i]``, else the parent's.
    """
    base = X + F * (X[i0] - X) if current else X[i0]
    V = base + F * (X[i1] - X[i2])
    return _repair_and_cross(V, X, R, CR, jrand, lower, upper)


def de_pbest_trials(X, A, pbest, r1, r2, F, R, CR, jrand, lower, upper) -> np.ndarray:
    """current-to-pbest/1 trials (JADE, SHADE) with the archive ``A``, repaired and crossed (n, d).

    The mutant is ``X + F[i] (X[pbest] - X + X[r1] - U[r2])`` with ``U`` the population joined with
    the archive (rows of ``A`` follow those of ``X``); repair and crossover as :func:`de_bin_trials`.
    """
    union = np.concatenate([X, A]) if len(A) else X
    V = X + F[:, None] * (X[pbest] - X + X[r1] - union[r2])
    return _repair_and_cross(V, X, R, CR, jrand, lower, upper)


# -- genetic algorithm --------------------------------------------------------------------------------
def sbx(y1, y2, lower, upper, eta: float, u):
    """Bounded simulated binary crossover of parents ``y1``, ``y2`` for the uniform numbers ``u``.

    Returns the two children (c_low, c_high), before the random swap: c_low is spread from the
    smaller parent, c_high from the larger, both clipped into [lower, upper]. All arguments
    broadcast; variables with |y1 - y2| <= 1e-14 are returned unchanged (min, max).
    """
    y1, y2, lower, upper, u = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (y1, y2, lower, upper, u)))
    a, b = np.minimum(y1, y2), np.maximum(y1, y2)
    span = b - a
    cross = span > SBX_EPS
    safe = np.where(cross, span, 1.0)
    e = 1.0 / (eta + 1.0)

    def betaq(beta):
        alpha = 2.0 - beta ** (-(eta + 1.0))
        ua = u * alpha
        low = ua <= 1.0
        return np.where(low, np.where(low, ua, 1.0) ** e, (1.0 / np.where(low, 1.0, 2.0 - ua)) ** e)

    c_low = 0.5 * (a + b - betaq(1.0 + 2.0 * (a - lower) / safe) * span)
    c_high = 0.5 * (a + b + betaq(1.0 + 2.0 * (upper - b) / safe) * span)
    c_low = np.where(cross, np.clip(c_low, lower, upper), a)
    c_high = np.where(cross, np.clip(c_high, lower, upper), b)
    return c_low, c_high


def polynomial_mutation(y, lower, upper, eta: float, u):
    """Bounded polynomial mutation of ``y`` for the uniform numbers ``u`` (arrays broadcast).

    u < 1/2 moves toward the lower bound (u = 0 lands on it), u > 1/2 toward the upper bound; the
    perturbation shrinks near a bound so that the result stays in [lower, upper].
    """
    y, lower, upper, u = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (y, lower, upper, u)))
    width = upper - lower
    d1 = (y - lower) / width
    d2 = (upper - y) / width
    e = 1.0 / (eta + 1.0)
    down = u <= 0.5
    val_down = 2.0 * u + (1.0 - 2.0 * u) * (1.0 - d1) ** (eta + 1.0)
    val_up = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * (1.0 - d2) ** (eta + 1.0)
    deltaq = np.where(down, val_down ** e - 1.0, 1.0 - val_up ** e)
    return np.clip(y + deltaq * width, lower, upper)


def ga_crossover(P1, P2, lower, upper, eta: float, u, do, swap):
    """Children (C1, C2) of the parent pairs ``P1``, ``P2`` (n, d): SBX (:func:`sbx`) where ``do``,
    the two children swapped where ``swap``; elsewhere the parents' genes."""
    c_low, c_high = sbx(P1, P2, lower, upper, eta, u)
    C1 = np.where(do, np.where(swap, c_high, c_low), P1)
    C2 = np.where(do, np.where(swap, c_low, c_high), P2)
    return C1, C2


def ga_mutation(K, lower, upper, eta: float, u, mask) -> np.ndarray:
    """``K`` (n, d) with :func:`polynomial_mutation` applied where ``mask``."""
    out = np.array(K, dtype=np.float64)
    pm = polynomial_mutation(K, lower, upper, eta, u)
    out[mask] = pm[mask]
    return out


NAMES = ("mmes_mix", "spso_move", "clpso_velocity", "de_bin_trials", "de_pbest_trials", "ga_crossover", "ga_mutation")
for _name in NAMES:
    register(_name, globals()[_name], f"optkit_native._population_nb:{_name}")
del _name

__all__ = [*NAMES, "NAMES", "SBX_EPS", "polynomial_mutation", "sbx"]

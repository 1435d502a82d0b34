"""Privacy accountants for the (Poisson-subsampled) Gaussian mechanism.

Every private optimizer in :mod:`optkit.privacy` releases, at each step, ``f(S) + N(0, (sigma C)^2 I)``
where ``S`` is a Poisson sample of the data (each example kept independently with probability
``q``, the *sample rate*; ``q = 1`` is the full batch), ``f`` a sum whose L2 sensitivity to adding or
removing one example is ``C`` (per-example clipping), and ``sigma`` the *noise multiplier*. An
accountant turns ``(sigma, q, steps)`` into ``(epsilon, delta)``-DP under add/remove adjacency.

:class:`RDPAccountant`
    Rényi DP of the sampled Gaussian mechanism (Mironov, Talwar & Zhang 2019, "Rényi Differential
    Privacy of the Sampled Gaussian Mechanism", section 3.3): for an order ``alpha``,
    ``RDP(alpha) = log(A_alpha) / (alpha - 1)`` with

        A_alpha = E_{z ~ mu0} [((1 - q) + q mu1(z) / mu0(z))^alpha],  mu0 = N(0, sigma^2), mu1 = N(1, sigma^2),

    computed exactly for integer orders (the binomial expansion) and by the two convergent series of
    the paper for fractional ones. RDP composes additively over steps. The conversion to
    ``(epsilon, delta)`` is Theorem 21 of Balle et al. 2020 ("Hypothesis testing interpretations and
    Rényi differential privacy")::

        epsilon = min_alpha  RDP(alpha) + log((alpha - 1) / alpha) - (log(delta) + log(alpha)) / (alpha - 1)

    over the order grid Opacus and TF-Privacy use by default (``DEFAULT_ORDERS``: 1.1, 1.2, ..., 10.9,
    then 12, 13, ..., 63). This is a rigorous upper bound: the value an optimizer reports.

:class:`GDPAccountant`
    Gaussian DP (Dong, Roth & Su 2022; Bu, Dong, Long & Su 2020). Without subsampling (``q = 1``)
    ``T`` Gaussian mechanisms compose *exactly* to ``mu``-GDP with ``mu = sqrt(T) / sigma``, and
    ``mu``-GDP is exactly ``(epsilon, delta(epsilon))``-DP for every epsilon with
    ``delta(eps) = Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2)``: for full-batch methods this is
    the tightest possible accounting. With ``q < 1`` it uses the central-limit approximation
    ``mu = q sqrt(T (e^{1/sigma^2} - 1))``, which is *not* an upper bound (it can under-report for
    few steps or large ``q``; ``exact`` is then False) and is offered for comparison only: the
    optimizers never stop on it.

:func:`noise_multiplier_for` inverts either one: the smallest noise multiplier (to a relative
tolerance) whose epsilon after ``steps`` steps is at most the target.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from optkit.core.errors import InvalidParameterError

#: the RDP orders of Opacus's and TF-Privacy's default grid
DEFAULT_ORDERS: tuple[float, ...] = tuple([1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)))

ACCOUNTANTS = ("rdp", "gdp")


# -- argument checks (shared with the optimizers) ------------------------------------------------
def check_delta(owner: str, delta) -> float:
    if isinstance(delta, bool) or not isinstance(delta, (int, float, np.floating)) or not 0 < delta < 1:
        raise InvalidParameterError(f"{owner}: 'delta' must be a number in the open interval (0, 1); got {delta!r}")
    return float(delta)


def check_positive(owner: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
        math.isfinite(value) and value > 0
    ):
        raise InvalidParameterError(f"{owner}: {name!r} must be a finite number > 0; got {value!r}")
    return float(value)


def check_sample_rate(owner: str, q) -> float:
    if isinstance(q, bool) or not isinstance(q, (int, float, np.floating)) or not 0 < q <= 1:
        raise InvalidParameterError(f"{owner}: 'sample_rate' must be a number in (0, 1]; got {q!r}")
    return float(q)


def check_steps(owner: str, steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise InvalidParameterError(f"{owner}: 'steps' must be an int >= 0; got {steps!r}")
    return int(steps)


# -- RDP of the sampled Gaussian mechanism -------------------------------------------------------
def _log_a_int(q: float, sigma: float, alpha: int) -> float:
    """log A_alpha for an integer order: the binomial expansion of ((1-q) + q mu1/mu0)^alpha."""
    i = np.arange(alpha + 1, dtype=np.float64)
    log_binom = special.gammaln(alpha + 1) - special.gammaln(i + 1) - special.gammaln(alpha - i + 1)
    terms = log_binom + i * math.log(q) + (alpha - i) * math.log1p(-q) + (i * i - i) / (2 * sigma**2)
    return float(special.logsumexp(terms))


def _log_erfc(x: float) -> float:
    return math.log(2.0) + float(special.log_ndtr(-x * math.sqrt(2.0)))


def _log_a_frac(q: float, sigma: float, alpha: float) -> float:
    """log A_alpha for a fractional order: the integral split at z0 where mu1/mu0 crosses (1-q)/q, each
    half expanded as a convergent generalized-binomial series (Mironov et al. 2019, section 3.3)."""
    z0 = sigma**2 * math.log(1 / q - 1) + 0.5
    # signed sums kept as (log of the magnitude, sign) in two accumulators
    acc = [[-math.inf, 1.0], [-math.inf, 1.0]]
    i = 0
    while True:
        coef = special.binom(alpha, i)
        j = alpha - i
        log_c = math.log(abs(coef))
        s0 = (log_c + i * math.log(q) + j * math.log1p(-q) + (i * i - i) / (2 * sigma**2)
              + math.log(0.5) + _log_erfc((i - z0) / (math.sqrt(2) * sigma)))
        s1 = (log_c + j * math.log(q) + i * math.log1p(-q) + (j * j - j) / (2 * sigma**2)
              + math.log(0.5) + _log_erfc((z0 - j) / (math.sqrt(2) * sigma)))
        for k, s in enumerate((s0, s1)):
            acc[k] = _signed_log_add(acc[k], s, 1.0 if coef > 0 else -1.0)
        i += 1
        if max(s0, s1) < -30:
            break
    total = _signed_log_add(acc[0], acc[1][0], acc[1][1])
    if total[1] < 0:  # cannot happen for a valid (q, sigma, alpha): A_alpha >= 1
        raise ArithmeticError(f"RDP series gave a negative A_alpha for q={q}, sigma={sigma}, alpha={alpha}")
    return total[0]


def _signed_log_add(a: list, log_b: float, sign_b: float) -> list:
    """(log|x|, sign x) of x + sign_b e^log_b, with x given as a = [log|x|, sign x]."""
    log_a, sign_a = a
    if log_b == -math.inf:
        return [log_a, sign_a]
    if log_a == -math.inf:
        return [log_b, sign_b]
    hi, lo = (log_a, log_b) if log_a >= log_b else (log_b, log_a)
    s_hi, s_lo = (sign_a, sign_b) if log_a >= log_b else (sign_b, sign_a)
    if s_hi == s_lo:
        return [hi + math.log1p(math.exp(lo - hi)), s_hi]
    if hi == lo:
        return [-math.inf, 1.0]
    return [hi + math.log(-math.expm1(lo - hi)), s_hi]


def rdp_sampled_gaussian(sample_rate: float, noise_multiplier: float, orders=DEFAULT_ORDERS) -> np.ndarray:
    """The RDP of ONE step of the Poisson-subsampled Gaussian mechanism at each order (sensitivity 1)."""
    owner = "rdp_sampled_gaussian"
    q = check_sample_rate(owner, sample_rate)
    sigma = check_positive(owner, "noise_multiplier", noise_multiplier)
    orders = np.asarray(orders, dtype=np.float64).reshape(-1)
    if orders.size == 0 or np.any(orders <= 1) or not np.all(np.isfinite(orders)):
        raise InvalidParameterError(f"{owner}: 'orders' must be finite numbers > 1; got {orders!r:.80}")
    if q == 1.0:
        return orders / (2 * sigma**2)
    out = np.empty_like(orders)
    for k, a in enumerate(orders):
        log_a = _log_a_int(q, sigma, int(a)) if float(a).is_integer() else _log_a_frac(q, sigma, float(a))
        out[k] = log_a / (a - 1)
    return out


def rdp_to_epsilon(orders, rdp, delta: float) -> tuple[float, float]:
    """``(epsilon, best order)`` of a mechanism with RDP ``rdp`` at ``orders`` (Balle et al. 2020, Thm 21)."""
    delta = check_delta("rdp_to_epsilon", delta)
    a = np.asarray(orders, dtype=np.float64)
    r = np.asarray(rdp, dtype=np.float64)
    eps = r - (math.log(delta) + np.log(a)) / (a - 1) + np.log((a - 1) / a)
    if np.all(np.isnan(eps)):
        return math.inf, math.nan
    k = int(np.nanargmin(eps))
    return max(float(eps[k]), 0.0), float(a[k])


class RDPAccountant:
    """RDP accounting of ``steps`` Poisson-subsampled Gaussian steps (see the module docstring).

    >>> acc = RDPAccountant(noise_multiplier=1.1, sample_rate=256 / 60000)
    >>> round(acc.epsilon(steps=60 * 234, delta=1e-5), 2)   # Abadi et al.'s MNIST setting, 60 epochs
    2.59
    """

    name = "rdp"
    exact = False  # an upper bound, not the exact curve

    def __init__(self, noise_multiplier: float, sample_rate: float = 1.0, *, orders=DEFAULT_ORDERS):
        self.noise_multiplier = check_positive("RDPAccountant", "noise_multiplier", noise_multiplier)
        self.sample_rate = check_sample_rate("RDPAccountant", sample_rate)
        self.orders = np.asarray(orders, dtype=np.float64)
        self._per_step = rdp_sampled_gaussian(self.sample_rate, self.noise_multiplier, self.orders)

    def rdp(self, steps: int) -> np.ndarray:
        """The RDP curve after ``steps`` steps (composition adds the per-step curves)."""
        return check_steps("RDPAccountant.rdp", steps) * self._per_step

    def epsilon_and_order(self, steps: int, delta: float) -> tuple[float, float]:
        steps = check_steps("RDPAccountant.epsilon", steps)
        delta = check_delta("RDPAccountant.epsilon", delta)
        if steps == 0:
            return 0.0, math.nan
        return rdp_to_epsilon(self.orders, steps * self._per_step, delta)

    def epsilon(self, steps: int, delta: float) -> float:
        """The epsilon spent after ``steps`` steps, at ``delta``."""
        return self.epsilon_and_order(steps, delta)[0]

    def __repr__(self) -> str:
        return f"RDPAccountant(noise_multiplier={self.noise_multiplier!r}, sample_rate={self.sample_rate!r})"


def _delta_of_gdp(eps: float, mu: float) -> float:
    return float(special.ndtr(-eps / mu + mu / 2) - math.exp(eps + special.log_ndtr(-eps / mu - mu / 2)))


class GDPAccountant:
    """Gaussian-DP accounting: exact for ``sample_rate = 1``, the CLT approximation otherwise (see above)."""

    name = "gdp"

    def __init__(self, noise_multiplier: float, sample_rate: float = 1.0):
        self.noise_multiplier = check_positive("GDPAccountant", "noise_multiplier", noise_multiplier)
        self.sample_rate = check_sample_rate("GDPAccountant", sample_rate)

    @property
    def exact(self) -> bool:
        """True when the epsilon is exact (no subsampling); False for the CLT approximation."""
        return self.sample_rate == 1.0

    def mu(self, steps: int) -> float:
        steps = check_steps("GDPAccountant.mu", steps)
        s, q = self.noise_multiplier, self.sample_rate
        if q == 1.0:
            return math.sqrt(steps) / s
        return q * math.sqrt(steps * math.expm1(1.0 / s**2))

    def epsilon(self, steps: int, delta: float) -> float:
        """The smallest epsilon with ``delta(epsilon) <= delta`` for ``mu(steps)``-GDP."""
        delta = check_delta("GDPAccountant.epsilon", delta)
        mu = self.mu(steps)
        if mu == 0 or _delta_of_gdp(0.0, mu) <= delta:
            return 0.0
        hi = max(1.0, mu * mu)
        while _delta_of_gdp(hi, mu) > delta:
            hi *= 2
        return float(optimize.brentq(lambda e: _delta_of_gdp(e, mu) - delta, 0.0, hi, xtol=1e-12, rtol=1e-12))

    def __repr__(self) -> str:
        return f"GDPAccountant(noise_multiplier={self.noise_multiplier!r}, sample_rate={self.sample_rate!r})"


def composed_epsilon(parts, delta: float) -> float:
    """The epsilon of a sequence of mechanisms ``parts = [(accountant, steps), ...]`` (accountants of one
    kind, e.g. gradient and difference rounds with different noise multipliers): RDP curves add; exact GDP
    ``mu^2`` add (all ``GDPAccountant`` parts must be exact)."""
    delta = check_delta("composed_epsilon", delta)
    parts = [(a, check_steps("composed_epsilon", k)) for a, k in parts if k]
    if not parts:
        return 0.0
    if all(isinstance(a, GDPAccountant) and a.exact for a, _ in parts):
        mu = math.sqrt(sum(a.mu(k) ** 2 for a, k in parts))
        return GDPAccountant(1.0 / mu, 1.0).epsilon(1, delta)
    if not all(isinstance(a, RDPAccountant) for a, _ in parts):
        raise InvalidParameterError("composed_epsilon: the parts must be all RDPAccountant or all exact GDPAccountant")
    orders = parts[0][0].orders
    return rdp_to_epsilon(orders, sum(a.rdp(k) for a, k in parts), delta)[0]


def make_accountant(kind: str, noise_multiplier: float, sample_rate: float = 1.0):
    """An accountant by name: ``"rdp"`` (the default everywhere) or ``"gdp"``."""
    if kind == "rdp":
        return RDPAccountant(noise_multiplier, sample_rate)
    if kind == "gdp":
        return GDPAccountant(noise_multiplier, sample_rate)
    raise InvalidParameterError(f"'accountant' must be one of {ACCOUNTANTS}; got {kind!r}")


def epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float, *, accountant: str = "rdp") -> float:
    """The epsilon of ``steps`` subsampled Gaussian steps at ``delta`` (a one-call shortcut)."""
    return make_accountant(accountant, noise_multiplier, sample_rate).epsilon(steps, delta)


def noise_multiplier_for(target_epsilon: float, delta: float, sample_rate: float, steps: int, *,
                         accountant: str = "rdp", rtol: float = 1e-4) -> float:
    """The smallest noise multiplier (to relative tolerance ``rtol``) whose epsilon after ``steps``
    steps at ``delta`` is at most ``target_epsilon``. The returned value always satisfies the target
    (the search keeps the upper end of its bracket), as Opacus's ``get_noise_multiplier`` does."""
    owner = "noise_multiplier_for"
    target = check_positive(owner, "target_epsilon", target_epsilon)
    delta = check_delta(owner, delta)
    q = check_sample_rate(owner, sample_rate)
    steps = check_steps(owner, steps)
    if steps < 1:
        raise InvalidParameterError(f"{owner}: 'steps' must be >= 1; got {steps}")

    def eps(s: float) -> float:
        return make_accountant(accountant, s, q).epsilon(steps, delta)

    lo, hi = 0.0, 1.0
    while eps(hi) > target:
        lo, hi = hi, 2 * hi
        if hi > 1e6:
            raise InvalidParameterError(f"{owner}: no noise multiplier up to 1e6 reaches epsilon={target} at "
                                        f"delta={delta} after {steps} steps; raise the target or lower the steps")
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if eps(mid) > target else (lo, mid)
    return hi


__all__ = [
    "ACCOUNTANTS", "DEFAULT_ORDERS", "GDPAccountant", "RDPAccountant", "composed_epsilon", "epsilon", "make_accountant",
    "noise_multiplier_for", "rdp_sampled_gaussian", "rdp_to_epsilon",
]

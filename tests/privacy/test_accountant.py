"""The accountants against Opacus's numbers and against closed forms."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from optkit import OptkitError
from optkit.privacy.accountant import (
    DEFAULT_ORDERS,
    GDPAccountant,
    RDPAccountant,
    epsilon,
    noise_multiplier_for,
    rdp_sampled_gaussian,
    rdp_to_epsilon,
)

# Reference values computed once with Opacus 1.6.0 (torch 2.13.0), by
#   opacus.accountants.analysis.rdp.get_privacy_spent(
#       orders=opacus.accountants.RDPAccountant.DEFAULT_ALPHAS,
#       rdp=opacus.accountants.analysis.rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=steps,
#                                                        orders=RDPAccountant.DEFAULT_ALPHAS),
#       delta=delta)[0]
# (sigma, q, steps, delta) -> epsilon
OPACUS_RDP = [
    (1.1, 256 / 60000, 14040, 1e-5, 2.594363354953112),
    (1.0, 0.01, 1000, 1e-5, 2.1013652716430564),
    (0.8, 0.05, 500, 1e-6, 14.849331329456104),
    (2.0, 1.0, 100, 1e-5, 35.08175401905626),
    (4.0, 0.001, 10000, 1e-5, 0.12326500866973675),
    (0.6, 0.2, 50, 1e-3, 22.419953436923713),
    (1.3, 0.004, 3000, 1e-5, 0.8340106313638742),
]
# opacus.accountants.analysis.rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=1, orders=orders), Opacus 1.6.0
OPACUS_RDP_CURVES = [
    (0.01, 1.0, [1.5, 2.0, 10.5, 32.0], [0.00012725374351154145, 0.00017181342207453428, 0.18833969137955273, 11.246275937048072]),
    (0.2, 0.7, [1.1, 3.0, 7.7, 63.0], [0.07595345121299245, 0.8322225964201897, 6.007495630078974, 62.650317697273195]),
]
# opacus.accountants.analysis.gdp.compute_eps_poisson(steps=, noise_multiplier=, sample_rate=, delta=), Opacus 1.6.0
OPACUS_GDP_POISSON = [
    (1.1, 256 / 60000, 14040, 1e-5, 2.3222268073411425),
    (1.0, 0.01, 1000, 1e-5, 1.6177118087467202),
]


@pytest.mark.parametrize("sigma,q,steps,delta,expected", OPACUS_RDP)
def test_rdp_epsilon_matches_opacus(sigma, q, steps, delta, expected):
    assert RDPAccountant(sigma, q).epsilon(steps, delta) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("q,sigma,orders,expected", OPACUS_RDP_CURVES)
def test_rdp_curve_matches_opacus(q, sigma, orders, expected):
    np.testing.assert_allclose(rdp_sampled_gaussian(q, sigma, orders), expected, rtol=1e-9)


@pytest.mark.parametrize("sigma,q,steps,delta,expected", OPACUS_GDP_POISSON)
def test_gdp_clt_matches_opacus(sigma, q, steps, delta, expected):
    acc = GDPAccountant(sigma, q)
    assert not acc.exact
    assert acc.epsilon(steps, delta) == pytest.approx(expected, rel=1e-8)


def test_full_batch_rdp_is_the_gaussian_closed_form():
    # q = 1: RDP(alpha) = T alpha / (2 sigma^2) exactly (Mironov 2017, Gaussian mechanism)
    acc = RDPAccountant(2.0, 1.0)
    np.testing.assert_allclose(acc.rdp(7), 7 * np.asarray(DEFAULT_ORDERS) / 8.0)
    # and the integer-order expansion agrees with the fractional series next to it
    r = rdp_sampled_gaussian(0.05, 1.2, [3.0, 3.0 + 1e-9])
    assert r[0] == pytest.approx(r[1], rel=1e-6)


def test_gdp_full_batch_is_exact_gaussian():
    # T Gaussian mechanisms with multiplier sigma = one with sigma / sqrt(T): mu = sqrt(T)/sigma, and the
    # (eps, delta) curve of the Gaussian mechanism (Balle & Wang 2018) holds with equality
    acc = GDPAccountant(3.0, 1.0)
    assert acc.exact and acc.mu(9) == pytest.approx(1.0)
    eps = acc.epsilon(9, 1e-5)
    delta = norm.cdf(-eps + 0.5) - math.exp(eps) * norm.cdf(-eps - 0.5)
    assert delta == pytest.approx(1e-5, rel=1e-6)
    assert eps < RDPAccountant(3.0, 1.0).epsilon(9, 1e-5)  # exact is tighter than the RDP bound


def test_epsilon_grows_with_steps_and_falls_with_noise():
    e = [RDPAccountant(1.0, 0.01).epsilon(t, 1e-5) for t in (1, 10, 100, 1000)]
    assert all(a < b for a, b in zip(e, e[1:]))
    assert RDPAccountant(2.0, 0.01).epsilon(1000, 1e-5) < e[-1]
    assert RDPAccountant(1.0, 0.01).epsilon(0, 1e-5) == 0.0


def test_noise_multiplier_for_inverts_and_matches_opacus():
    sigma = noise_multiplier_for(1.0, 1e-5, 0.01, 1000)
    assert epsilon(sigma, 0.01, 1000, 1e-5) <= 1.0
    assert epsilon(sigma * (1 - 1e-3), 0.01, 1000, 1e-5) > 1.0  # the smallest, to the tolerance
    # opacus.accountants.utils.get_noise_multiplier(target_epsilon=1.0, target_delta=1e-5, sample_rate=0.01,
    # steps=1000) = 1.5234375 with Opacus 1.6.0 (its epsilon_tolerance 0.01 stops the bisection earlier)
    assert sigma <= 1.5234375 and sigma == pytest.approx(1.5234375, rel=0.01)
    assert noise_multiplier_for(1.0, 1e-5, 1.0, 50, accountant="gdp") < noise_multiplier_for(1.0, 1e-5, 1.0, 50)


def test_rdp_to_epsilon_formula():
    # Balle et al. 2020, Thm 21 at one order
    eps, order = rdp_to_epsilon([5.0], [0.3], 1e-5)
    assert order == 5.0
    assert eps == pytest.approx(0.3 + math.log(4 / 5) - (math.log(1e-5) + math.log(5)) / 4)


@pytest.mark.parametrize("call", [
    lambda: RDPAccountant(1.0, 0.1).epsilon(10, 0.0),
    lambda: RDPAccountant(1.0, 0.1).epsilon(10, 1.0),
    lambda: RDPAccountant(1.0, 0.1).epsilon(10, -1e-5),
    lambda: GDPAccountant(1.0, 0.1).epsilon(10, 1.5),
    lambda: RDPAccountant(0.0, 0.1),
    lambda: RDPAccountant(-1.0, 0.1),
    lambda: GDPAccountant(0.0),
    lambda: RDPAccountant(1.0, 0.0),
    lambda: RDPAccountant(1.0, 1.5),
    lambda: RDPAccountant(1.0, 0.1).epsilon(-1, 1e-5),
    lambda: noise_multiplier_for(1.0, 2.0, 0.1, 10),
    lambda: noise_multiplier_for(-1.0, 1e-5, 0.1, 10),
    lambda: epsilon(1.0, 0.1, 10, 1e-5, accountant="prv-typo"),
])
def test_bad_input_is_a_clear_error(call):
    with pytest.raises(OptkitError) as info:
        call()
    assert "got" in str(info.value)

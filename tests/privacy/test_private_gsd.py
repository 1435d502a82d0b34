"""Private-GSD: the marginals, the incremental GA bookkeeping, and query error against baselines."""

import itertools
import math

import numpy as np
import pytest

from optkit import OptkitError
from optkit.privacy.private_gsd import _GA, Marginals, load_tabular, private_gsd, rho_from_epsilon


def test_marginal_counts_by_hand():
    D = np.array([[0, 1, 2], [1, 1, 0], [0, 0, 2]])
    Q = Marginals([2, 2, 3], k=2)
    assert Q.workloads == [(0, 1), (0, 2), (1, 2)] and Q.size == 4 + 6 + 6
    c = Q.counts(D)
    np.testing.assert_array_equal(c[Q.block(0)], [1, 1, 0, 1])                 # (a, b) cells 00 01 10 11
    np.testing.assert_array_equal(c[Q.block(1)], [0, 0, 2, 1, 0, 0])           # (a, c)
    np.testing.assert_array_equal(c[Q.block(2)], [0, 0, 1, 1, 0, 1])           # (b, c)


def test_ga_keeps_answers_and_errors_consistent():
    D, dom, _ = load_tabular("iris", n_columns=3, bins=3)
    Q = Marginals(dom, 2)
    target = Q.counts(D) / D.shape[0]
    ga = _GA(Q, 50, 4, 16, 0.5, np.random.default_rng(0))
    trace = ga.run(target, np.ones(Q.size), 200)
    for T, a in zip(ga.tables, ga.answers):
        np.testing.assert_allclose(a, Q.counts(T) / 50, atol=1e-12)  # incremental updates are exact
    assert trace[-1] == pytest.approx(np.sum((ga.answers[0] - target) ** 2))
    assert all(b <= a + 1e-15 for a, b in zip(trace, trace[1:]))   # elitist: never worse


def test_zcdp_conversion():
    rho = rho_from_epsilon(1.0, 1e-6)
    assert rho + 2 * math.sqrt(rho * math.log(1e6)) == pytest.approx(1.0) and rho + 2 * math.sqrt(rho * math.log(1e6)) <= 1.0


def test_gsd_improves_query_error():
    D, dom, _ = load_tabular("breast_cancer", n_columns=8, bins=4)
    exact = private_gsd(D, dom, epsilon=None, generations=1500, seed=0)
    priv = private_gsd(D, dom, epsilon=1.0, delta=1e-6, generations=1500, seed=0)
    adaptive = private_gsd(D, dom, epsilon=1.0, delta=1e-6, rounds=4, per_round=4, generations=400, seed=0)
    # measured (seed 0): random synthetic data 0.042 mean error; exact answers 0.002; epsilon=1 0.019-0.021
    assert exact.error_mean < 0.1 * exact.baseline_error_mean
    for r in (priv, adaptive):
        assert r.epsilon <= 1.0 and r.error_mean < 0.6 * r.baseline_error_mean
    assert exact.error_mean < priv.error_mean
    assert len(adaptive.measured) == 16 and len(set(adaptive.measured)) == 16
    assert set(priv.measured) == set(itertools.combinations(range(9), 2))


def test_bad_input():
    D, dom, _ = load_tabular("iris", n_columns=2, bins=2)
    with pytest.raises(OptkitError):
        private_gsd(D, dom, epsilon=1.0, delta=0.0)
    with pytest.raises(OptkitError):
        private_gsd(D, dom, epsilon=-1.0)
    with pytest.raises(OptkitError):
        private_gsd(D + 5, dom, epsilon=1.0)
    with pytest.raises(OptkitError):
        load_tabular("mnist")

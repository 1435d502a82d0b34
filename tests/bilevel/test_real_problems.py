"""The methods on real data: ridge HPO on diabetes (against an L-BFGS-B reference on the exact
hyper-objective) and data hyper-cleaning on digits (test accuracy recovered, corrupted points down-weighted)."""

import pytest
from scipy.optimize import minimize

import optkit
from optkit.bilevel import problems as P


@pytest.fixture(scope="module")
def ridge():
    p = P.ridge_hpo()
    ref = minimize(lambda x: (p.upper_objective(x), p.exact_hypergradient(x)), p.x0, jac=True, method="L-BFGS-B",
                   bounds=list(zip(p.space.lower, p.space.upper)))
    return p, p.upper_objective(p.x0), ref.fun


@pytest.mark.parametrize("name,kw", [
    ("bilevel-implicit", {"lr": 3.0, "lr_inner": 0.05, "inner_steps": 10, "solver_steps": 10}),
    ("bilevel-penalty", {"lr": 3.0, "lr_inner": 0.05, "inner_steps": 10, "sigma": 1e-2}),
    ("bilevel-decentralized", {"lr": 3.0, "lr_inner": 0.05}),
])
def test_ridge_hpo_gets_most_of_the_way_to_the_reference(ridge, name, kw):
    p, F0, F_ref = ridge
    res = optkit.make(name, p.space, batch_size=32, upper_batch_size=32, seed=0, **kw).minimize(p, 500_000)
    assert res.fun - F_ref < 0.15 * (F0 - F_ref), (res.fun, F0, F_ref)


def test_hyper_cleaning_recovers_accuracy():
    p = P.hyper_cleaning(corruption=0.4)
    before = p.metrics(p.x0, p.lower_argmin(p.x0))
    res = optkit.make("bilevel-implicit", p.space, lr=100.0, lr_inner=1.0, inner_steps=5, solver_steps=10, batch_size=100,
                      upper_batch_size=100, seed=0).minimize(p, 200_000)
    after = p.metrics(res.x, p.lower_argmin(res.x))
    assert res.fun < p.upper_objective(p.x0) - 0.2
    assert after["test_accuracy"] > before["test_accuracy"] + 0.15
    assert after["weight_corrupted"] < 0.3 < 0.6 < after["weight_clean"]


def test_softmax_hyper_cleaning_with_the_penalty_method():
    p = P.hyper_cleaning(classes="softmax", n_train=300, n_val=300, corruption=0.4)
    before = p.metrics(p.x0, p.lower_argmin(p.x0))
    res = optkit.make("bilevel-penalty", p.space, lr=100.0, lr_inner=1.0, inner_steps=5, sigma=1e-2, batch_size=50,
                      upper_batch_size=50, seed=0).minimize(p, 100_000)
    after = p.metrics(res.x, p.lower_argmin(res.x))
    assert res.oracle_counts["hvp"] == res.oracle_counts["jvp"] == 0  # first-order only
    assert res.fun < 0.5 * p.upper_objective(p.x0)
    assert after["test_accuracy"] > before["test_accuracy"] + 0.2 and after["weight_corrupted"] < after["weight_clean"]

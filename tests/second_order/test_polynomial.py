"""Polynomial (Krylov) preconditioning: the Krylov property, a hand step, convergence on convex problems."""

import numpy as np
from so_problems import rotated_quadratic

import optkit


def _one_step(problem, **kw):
    return optkit.make("poly-krylov", problem.space, **kw).minimize(problem, 10_000, callback=lambda r: True)


def test_tau_distinct_eigenvalues_are_solved_in_one_step():
    # H has 3 distinct eigenvalues (each 4 times): K_3(H, g) contains H^{-1} g, so one step with tau = 3 is exact
    p, _ = rotated_quadratic(np.repeat([1.0, 7.0, 40.0], 4), seed=3)
    res = _one_step(p, tau=3)
    assert res.nit == 1 and p.objective(res.x) < 1e-20
    res = _one_step(p, tau=2)  # degree 1 cannot: progress, but not the solution
    assert 1e-8 < p.objective(res.x) < p.objective(p.w0)


def test_tau_one_is_the_exact_line_search_gradient_step():
    p, H = rotated_quadratic([1.0, 3.0, 10.0], seed=4)
    g = p.grad(p.w0)
    res = _one_step(p, tau=1)
    # the model with L = 1 is exact on a quadratic, so the first trial passes: w1 = w0 - (g.g / g.Hg) g
    np.testing.assert_allclose(res.x, p.w0 - (g @ g) / (g @ H @ g) * g, rtol=1e-12)
    assert res.oracle_counts["hvp"] == 1


def test_the_step_is_a_polynomial_in_H_times_g():
    p, H = rotated_quadratic(np.linspace(1.0, 50.0, 8), seed=5)
    g = p.grad(p.w0)
    res = _one_step(p, tau=3)
    K = np.column_stack([g, H @ g, H @ H @ g])
    coef, *_ = np.linalg.lstsq(K, res.x - p.w0, rcond=None)
    np.testing.assert_allclose(K @ coef, res.x - p.w0, atol=1e-10)  # the step lies in K_3(H, g)
    # and it minimizes the quadratic over that space: the gradient at w1 is orthogonal to K_3
    np.testing.assert_allclose(K.T @ (H @ (res.x - p.x_opt)), 0.0, atol=1e-8)


def test_adaptive_L_doubles_until_the_model_is_an_upper_bound():
    p = optkit.problems.get("logreg_breast_cancer")
    opt = optkit.make("poly-krylov", p.space, tau=3, L0=1e-3, L_min=1e-3)
    res = opt.minimize(p, 10**6, callback=lambda r: True)
    trials = res.oracle_counts["grad"] // p.n_examples - 1  # loss_and_grad at w0, then one per trial of L
    assert res.fun < p.objective(p.w0)
    # L0 was too small: it doubled (trials - 1) times until the model bounded f, then halved once
    assert trials >= 2 and opt._opt_state["L"] == 1e-3 * 2 ** (trials - 1) / 2


def test_converges_on_logistic_regression_and_a_higher_degree_helps():
    p = optkit.problems.get("logreg_breast_cancer")
    res = optkit.make("poly-krylov", p.space, tau=5).minimize(p, 200 * p.n_examples)
    assert res.fun - p.f_opt < 1e-10
    p = optkit.problems.get("logreg_breast_cancer_scaled")  # badly scaled: the degree matters
    gaps = [optkit.make("poly-krylov", p.space, tau=t).minimize(p, 100 * p.n_examples).fun - p.f_opt for t in (1, 5)]
    assert gaps[1] < 0.1 * gaps[0]  # measured: 1.8e-2 (tau = 1) and 1.4e-3 (tau = 5) after 100 epochs

"""Zeroth-order optimization: gradient estimates from function values, a black-box attack, a saddle point.

1. A gradient estimator on its own: the 2m-point sphere estimator against the true gradient.
2. ZO-Adam (ZO-AdaMM) attacks a logistic-regression digit classifier that it sees only through its
   scores, within an l-infinity ball of radius 0.2, and reaches the closed-form optimum of the attack loss.
3. Plain ZO-SGD started on a strict saddle stays there (its two-point estimate is exactly zero); the
   perturbed method ``zo-saddle`` leaves it and reaches a minimum.
4. The points of each estimate are asked together, so a thread or process pool evaluates them in
   parallel (same result as the serial run).

Runs in a few seconds: ``python examples/zeroth_order.py``.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import optkit
from optkit.problems.zo import adversarial_digits, strict_saddle
from optkit.zeroth_order import SphereTwoPoint

if __name__ == "__main__":
    # 1. an estimator on its own: mean of 2000 estimates of the gradient of a quadratic (unbiased on quadratics)
    rng = np.random.default_rng(0)
    h = np.arange(1.0, 11.0)
    f = lambda P: 0.5 * (np.atleast_2d(P) ** 2) @ h  # noqa: E731
    x = np.ones(10)
    est = SphereTwoPoint(1e-4, n_directions=5)  # 10 evaluations per estimate
    G = np.array([est.estimate(x, None, P, f(P)) for P in (est.directions(rng, x) for _ in range(2000))])
    err = np.linalg.norm(G.mean(axis=0) - h * x) / np.linalg.norm(h * x)
    print(f"sphere 2m-point estimator, m=5: relative error of the mean of 2000 estimates {err:.3f}, "
          f"cost {est.cost(10)} evaluations each")

    # 2. a black-box attack: only the classifier's scores are seen
    attack = adversarial_digits(eps=0.2, image=0)
    res = optkit.make("zo-adam", attack.space, x0=attack.x_clean, lr=0.01, seed=0).minimize(attack, budget=2000)
    first = int(np.flatnonzero(res.history.fun < 0)[0]) + 1
    print(f"zo-adam attack: label {attack.label} -> {attack.predict(res.x)[0]} after {first} evaluations; "
          f"loss {res.fun:.3f} (optimum {attack.f_opt:.3f}), max pixel change {np.abs(res.x - attack.x_clean).max():.2f}")

    # 3. a strict saddle at the origin: f(x) = sum x_i^2 (first 5) + sum x_i^4/4 - x_i^2/2 (last 5)
    saddle = strict_saddle(10, n_negative=5)
    for method in ("zo-sgd", "zo-saddle"):
        res = optkit.make(method, saddle.space, x0=np.zeros(10), lr=0.05, estimator="sphere", seed=0).minimize(
            saddle, budget=4000)
        print(f"{method:9s} from the saddle: f(iterate) = {saddle(res.x_iterate):+.4f} (f_opt = {saddle.f_opt})")

    # 4. parallel evaluation of each estimate's points (20 per step with m = 10)
    sphere = optkit.problems.get("sphere", 20)
    serial = optkit.make("zo-sgd", sphere.space, lr=0.1, n_directions=10, seed=1).minimize(sphere, 4000)
    with ThreadPoolExecutor(4) as pool:
        par = optkit.make("zo-sgd", sphere.space, lr=0.1, n_directions=10, seed=1).minimize(sphere, 4000, executor=pool)
    print(f"zo-sgd on sphere-20: f = {serial.fun:.2e}; with a thread pool the same run: {np.array_equal(serial.x, par.x)}")

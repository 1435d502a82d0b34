"""Zeroth-order estimators and saddle escape, measured.

1. Bias and variance of each gradient estimator against the true gradient, per evaluation, on three
   known functions: an ill-conditioned quadratic (d = 20), Rosenbrock (d = 20) at a fixed point, and the
   black-box attack loss of ``optkit.problems.zo.adversarial_digits`` (d = 64) at the clean image (its
   gradient is known in closed form: the margin is linear in the pixels there). For ``n`` independent
   estimates ``g_1..g_n`` of ``grad f`` (norm ``G``): relative bias ``|mean(g) - grad f| / G`` (with its
   Monte Carlo standard error), relative variance ``mean |g - mean(g)|^2 / G^2``, the same times the
   evaluations per estimate (the variance of an average over a fixed number of evaluations, up to that
   number: lower is better), and the mean cosine between ``g`` and ``grad f``.
2. Smoothing bias against ``mu`` on Rosenbrock: the bias of each estimator's mean as ``mu`` grows (for the
   random estimators measured against the same draws at a tiny ``mu``, common random numbers).
3. Saddle escape on ``strict_saddle(10, n_negative=1)`` (saddle at the origin, f = 0; minimum -0.25):
   plain ZO-SGD against the perturbed method (``zo-saddle``), same estimator (sphere, m = 1) and step,
   from the saddle itself and from random points of its stable manifold (the negative-curvature
   coordinate 0). Escaped = f(iterate) < -0.125 within the budget; evaluations to escape = median over
   the seeds that escaped.
4. The black-box attack over 10 images: evaluations until the classifier is fooled (f < 0), and the final
   loss against its closed-form optimum f_opt.
5. Time per evaluation spent in the estimator (drawing the points, forming the estimate) against the
   ask/tell bookkeeping, at d = 100 and 1,000 (whether a native kernel would pay).

    python benchmarks/zo_estimators.py            # the full run (about a minute on one core)
    python benchmarks/zo_estimators.py --quick    # a smoke run
    python benchmarks/zo_estimators.py --parts escape overhead    # some of the tables
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import optkit  # noqa: E402
from optkit.problems.zo import adversarial_digits, strict_saddle  # noqa: E402
from optkit.zeroth_order import CentralDifference, ForwardDifference, GaussianTwoPoint, SphereTwoPoint  # noqa: E402


def quadratic(d=20, cond=100.0):
    h = cond ** (np.arange(d) / (d - 1))
    x = np.linspace(-1.0, 1.0, d)
    return "quadratic d=20 (cond 100)", (lambda P: 0.5 * (np.atleast_2d(P) ** 2) @ h), (lambda x: h * x), x


def rosenbrock(d=20):
    def f(P):
        P = np.atleast_2d(P)
        return np.sum(100 * (P[:, 1:] - P[:, :-1] ** 2) ** 2 + (1 - P[:, :-1]) ** 2, axis=1)

    def g(x):
        out = np.zeros_like(x)
        out[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
        out[1:] += 200 * (x[1:] - x[:-1] ** 2)
        return out

    x = 0.5 + 0.3 * np.sin(np.arange(d))
    return "rosenbrock d=20", f, g, x


def attack():
    p = adversarial_digits()
    W, b, label = p.fun.W, p.fun.b, p.label
    z = p.x_clean @ W.T + b
    z[label] = -np.inf
    j = int(np.argmax(z))  # the runner-up class: near x_clean the loss is z_label - z_j, linear
    return "attack loss d=64 (digits)", p.evaluate, (lambda x: W[label] - W[j]), p.x_clean.copy()


def estimators(d, mu):
    return {
        "gaussian, m=1": GaussianTwoPoint(mu),
        "gaussian, m=1, one-sided": GaussianTwoPoint(mu, antithetic=False),
        "sphere, m=1": SphereTwoPoint(mu),
        "sphere, m=10 (2m-point)": SphereTwoPoint(mu, n_directions=10),
        "forward (CGE), all coordinates": ForwardDifference(mu),
        f"forward (CGE), {d // 4} random coordinates": ForwardDifference(mu, n_coordinates=d // 4),
        "central, all coordinates": CentralDifference(mu),
    }


def draws(est, f, x, n, rng):
    fx = float(f(x)[0]) if est.needs_center else np.nan
    G = np.empty((n, x.size))
    for i in range(n):
        P = est.directions(rng, x)
        G[i] = est.estimate(x, fx, P, f(P))
    return G


def bias_variance(n, mu=1e-4):
    print(f"\n### Bias and variance per evaluation (mu = {mu:g}, {n} estimates each)\n")
    print("| function | estimator | evaluations | relative bias (MC s.e.) | relative variance | variance x evaluations "
          "| mean cosine |")
    print("|---|---|---|---|---|---|---|")
    for make in (quadratic, rosenbrock, attack):
        name, f, grad, x = make()
        g = grad(x)
        G2 = float(g @ g)
        for ename, est in estimators(x.size, mu).items():
            deterministic = ename.startswith(("forward (CGE), all", "central"))
            Gs = draws(est, f, x, 1 if deterministic else n, np.random.default_rng(0))
            mean = Gs.mean(axis=0)
            bias = np.linalg.norm(mean - g) / np.sqrt(G2)
            var = float(np.mean(np.sum((Gs - mean) ** 2, axis=1))) / G2 if len(Gs) > 1 else 0.0
            se = np.sqrt(var / len(Gs))
            cos = float(np.mean(Gs @ g / (np.linalg.norm(Gs, axis=1) * np.sqrt(G2) + 1e-300)))
            cost = est.cost(x.size)
            se_txt = "exact" if deterministic else f"{se:.1e}"
            print(f"| {name} | {ename} | {cost} | {bias:.2e} ({se_txt}) | {var:.3g} | {var * cost:.3g} | {cos:.3f} |")


def bias_vs_mu(n, mu0=1e-6):
    name, f, grad, x = rosenbrock()
    g = grad(x)
    G = np.linalg.norm(g)
    print(f"\n### Smoothing bias against mu on {name}: relative |E g_mu - grad f| / |grad f|\n")
    print(f"(random estimators: the mean over {n} draws of g_mu - g_mu0, mu0 = {mu0:g}, with the same directions for "
          "both (common random numbers), which removes most of the sampling noise; MC standard error in brackets)\n")
    mus = [1e-2, 1e-1, 3e-1]
    print("| estimator | " + " | ".join(f"mu = {m:g}" for m in mus) + " |")
    print("|---|" + "---|" * len(mus))
    for ename in ("gaussian, m=1", "sphere, m=1", "forward (CGE), all coordinates", "central, all coordinates"):
        cells = []
        det = ename.startswith(("forward", "central"))
        for mu in mus:
            if det:
                est = estimators(x.size, mu)[ename]
                cells.append(f"{np.linalg.norm(draws(est, f, x, 1, np.random.default_rng(0))[0] - g) / G:.2e}")
                continue
            D = (draws(estimators(x.size, mu)[ename], f, x, n, np.random.default_rng(1))
                 - draws(estimators(x.size, mu0)[ename], f, x, n, np.random.default_rng(1)))
            mean = D.mean(axis=0)
            se = np.sqrt(np.mean(np.sum((D - mean) ** 2, axis=1)) / n) / G
            cells.append(f"{np.linalg.norm(mean) / G:.2e} ({se:.1e})")
        print(f"| {ename} | " + " | ".join(cells) + " |")


def escape(seeds, budget):
    d = 10
    p = strict_saddle(d, n_negative=1)
    print(f"\n### Saddle escape on strict_saddle(d={d}, n_negative=1): {seeds} seeds, budget {budget} evaluations, lr 0.05, "
          "sphere estimator m=1\n")
    print("| start | method | escaped | median evaluations to escape | median final f(iterate) |")
    print("|---|---|---|---|---|")
    methods = {
        "zo-sgd": ("zo-sgd", {"estimator": "sphere"}),
        "zo-saddle (radius 0.1, every step)": ("zo-saddle", {"radius": 0.1}),
        "zo-saddle (radius 0.1, grad_threshold 0.05)": ("zo-saddle", {"radius": 0.1, "grad_threshold": 0.05}),
    }
    for start in ("the saddle", "its stable manifold"):
        for label, (method, params) in methods.items():
            escaped, evals, finals = 0, [], []
            for seed in range(seeds):
                rng = np.random.default_rng(1000 + seed)
                x0 = np.zeros(d)
                if start != "the saddle":
                    x0[: d - 1] = rng.uniform(-1.5, 1.5, d - 1)
                opt = optkit.make(method, p.space, x0=x0, lr=0.05, seed=seed, **params)
                used, hit = 0, None
                while used < budget:  # the ask/tell loop itself, to watch the iterate after every step
                    X = opt.ask()
                    opt.tell(X, p.evaluate(X))
                    used += len(X)
                    if hit is None and p(opt.iterate) < -0.125:
                        hit = used
                finals.append(p(opt.iterate))
                if hit is not None:
                    escaped += 1
                    evals.append(hit)
            med = f"{np.median(evals):.0f}" if evals else "-"
            print(f"| {start} | {label} | {escaped}/{seeds} | {med} | {np.median(finals):.3g} |")


def attacks(n_images, budget):
    print(f"\n### Black-box attack on logistic regression (digits), eps = 0.2, kappa = 1: {n_images} images, "
          f"budget {budget}\n")
    print("| method | fooled | median evaluations to fool | median final f - f_opt |")
    print("|---|---|---|---|")
    methods = {
        "zo-sgd (gaussian, lr 0.01)": ("zo-sgd", {"lr": 0.01}),
        "zo-signsgd (sphere m=5, lr 0.01)": ("zo-signsgd", {"lr": 0.01, "n_directions": 5}),
        "zo-adam (sphere, lr 0.01)": ("zo-adam", {"lr": 0.01}),
        "zo-adam (CGE, 16 random coordinates, lr 0.01)": ("zo-adam", {"lr": 0.01, "estimator": "forward",
                                                                      "n_coordinates": 16}),
    }
    for label, (method, params) in methods.items():
        fooled, evals, gaps = 0, [], []
        for image in range(n_images):
            p = adversarial_digits(image=image)
            res = optkit.make(method, p.space, x0=p.x_clean, seed=image, **params).minimize(p, budget)
            below = np.flatnonzero(res.history.fun < 0)
            if below.size:
                fooled += 1
                evals.append(below[0] + 1)
            gaps.append(res.fun - p.f_opt)
        med = f"{np.median(evals):.0f}" if evals else "-"
        print(f"| {label} | {fooled}/{n_images} | {med} | {np.median(gaps):.2g} |")


def overhead(steps):
    print("\n### Time per evaluation: the estimator against the ask/tell bookkeeping (vectorized sphere function)\n")
    print("| d | estimator | evaluations per step | estimator us / evaluation | ask + tell us / evaluation |")
    print("|---|---|---|---|---|")
    for d in (100, 1000):
        problem = optkit.problems.get("sphere", d)
        for est, kw in (("sphere", {"n_directions": 10}), ("forward", {"n_coordinates": 10}), ("central", {})):
            opt = optkit.make("zo-sgd", problem.space, estimator=est, lr=0.01, seed=0, **kw)
            X = opt.ask()
            opt.tell(X, problem.evaluate(X))  # warm-up (the test function's kernel compiles on first use)
            t_loop, n_eval = 0.0, 0
            for _ in range(steps):
                t0 = time.perf_counter()
                X = opt.ask()
                t1 = time.perf_counter()
                y = problem.evaluate(X)
                t2 = time.perf_counter()
                opt.tell(X, y)
                t_loop += (t1 - t0) + (time.perf_counter() - t2)
                n_eval += len(X)
            e, rng, x = opt.estimator_, np.random.default_rng(0), np.zeros(d)
            k = e.n_points(d)
            t0 = time.perf_counter()
            for _ in range(steps):
                e.estimate(x, 0.0, e.directions(rng, x), np.zeros(k))
            t_est = time.perf_counter() - t0
            print(f"| {d} | {est} | {opt.batch_size} | {t_est / n_eval * 1e6:.1f} | {t_loop / n_eval * 1e6:.1f} |")


PARTS = ("bias", "mu", "escape", "attack", "overhead")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run with few repetitions")
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="the tables to make (default all)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    n = 200 if args.quick else 5000
    if "bias" in args.parts:
        bias_variance(n)
    if "mu" in args.parts:
        bias_vs_mu(n)
    if "escape" in args.parts:
        escape(3 if args.quick else 20, 1000 if args.quick else 4000)
    if "attack" in args.parts:
        attacks(3 if args.quick else 10, 500 if args.quick else 3000)
    if "overhead" in args.parts:
        overhead(2 if args.quick else 5)
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

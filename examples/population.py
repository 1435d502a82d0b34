"""One short run per population family: CMA-ES (BIPOP), LM-MA-ES at d = 1000, xNES, SHADE, PSO, GA, CEM.

Each is a few lines: pick a method by its registry name, give the hyperparameters that matter, read
the Result. The whole script takes well under a minute on a laptop CPU. ``OPTKIT_NATIVE=0 python
examples/population.py`` runs the numpy twins of the numba kernels instead (same results, see
docs/native.md); with a CUDA GPU the last lines sample and evaluate a large population on it.
"""

import time

import numpy as np

import optkit


def report(name, res, t0, f_opt=0.0):
    print(f"{name:28s} f - f_opt = {res.fun - f_opt:9.2e}  evaluations = {res.nfev:6d}  {time.perf_counter() - t0:5.1f} s")


if __name__ == "__main__":
    # CMA-ES with BIPOP restarts on a multimodal BBOB function (f15, rotated Rastrigin, d = 5)
    t0 = time.perf_counter()
    f15 = optkit.problems.bbob(15, dim=5, instance=1)
    res = optkit.minimize(f15, method="cmaes", restarts="bipop", budget=40_000, seed=2)
    report("cmaes, BIPOP, BBOB f15 d=5", res, t0, f15.f_opt)

    # LM-MA-ES in 1000 dimensions (O(m d) memory) on an ellipsoid (vectorized objective): at d = 1000 an
    # ES gains a factor ~100 per 25,000 evaluations (about 1e-8 takes a few 10^5); here the first 30,000
    t0 = time.perf_counter()
    d = 1000
    w = 10.0 ** (2.0 * np.arange(d) / (d - 1))  # condition number 100
    ell = optkit.Problem(lambda X: (X * X) @ w, optkit.Box(-5 * np.ones(d), 5 * np.ones(d)), vectorized=True)
    res = optkit.minimize(ell, method="lmmaes", budget=30_000, seed=0)
    report("lmmaes, ellipsoid d=1000", res, t0)
    print(f"    best value after 1,000 evaluations {res.best_so_far[999]:.3g}, after 30,000 {res.fun:.3g}")

    # xNES (exponential natural evolution strategy) on Rosenbrock, d = 8
    t0 = time.perf_counter()
    res = optkit.minimize(lambda x: float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)),
                          bounds=[(-2, 2)] * 8, method="xnes", budget=20_000, seed=0)
    report("xnes, rosenbrock d=8", res, t0)

    # SHADE (success-history adaptive DE) on Rastrigin, d = 10
    t0 = time.perf_counter()

    def rastrigin(x):
        return float(10 * len(x) + np.sum(x * x - 10 * np.cos(2 * np.pi * x)))

    res = optkit.minimize(rastrigin, bounds=[(-5.12, 5.12)] * 10, method="shade", budget=60_000, seed=0)
    report("shade, rastrigin d=10", res, t0)

    # SPSO-2011 on Ackley, d = 10
    t0 = time.perf_counter()

    def ackley(x):
        return float(20 - 20 * np.exp(-0.2 * np.sqrt(np.mean(x * x))) + np.e - np.exp(np.mean(np.cos(2 * np.pi * x))))

    res = optkit.minimize(ackley, bounds=[(-32.768, 32.768)] * 10, method="pso", budget=40_000, seed=0)
    report("pso, ackley d=10", res, t0)

    # GA on a mixed space: reals, an integer and a category
    t0 = time.perf_counter()
    space = optkit.SearchSpace({"x": optkit.Real(-2, 2), "y": optkit.Real(-2, 2), "n": optkit.Integer(1, 20),
                                "kind": optkit.Categorical(["linear", "quadratic", "cubic"])})

    def mixed(p):
        return (p["x"] - 0.5) ** 2 + (p["y"] + 1) ** 2 + 0.1 * (p["n"] - 7) ** 2 + {"linear": 1.0, "quadratic": 0.0, "cubic": 0.5}[p["kind"]]

    res = optkit.minimize(mixed, space=space, method="ga", budget=6_000, seed=0)
    report("ga, mixed space", res, t0)
    print("    best:", {k: (round(v, 3) if isinstance(v, float) else v) for k, v in space.to_dict(res.x).items()})

    # the cross-entropy method on a shifted sphere, d = 20
    t0 = time.perf_counter()
    res = optkit.minimize(lambda x: float(np.sum((x - 1.5) ** 2)), bounds=[(-5, 5)] * 20, method="cem", budget=20_000, seed=0)
    report("cem, shifted sphere d=20", res, t0)

    # with a CUDA GPU: sample 4096 points of N(m, sigma^2 I) in d = 512 and evaluate Rastrigin on the device
    from optkit_native import cuda_available

    if cuda_available():
        from optkit_native.cuda_population import CudaGaussianSampler

        X, Z, f = CudaGaussianSampler(max_rows=4096, seed=0).sample_evaluate("rastrigin", np.zeros(512), 0.3, 4096,
                                                                              sd=np.ones(512))
        print(f"GPU: {len(X)} points sampled and evaluated, best value {f.min():.1f}")

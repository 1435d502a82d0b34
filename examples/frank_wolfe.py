"""Frank-Wolfe, projection-free and gradient-free: sparse regression over an l1 ball, low-rank matrix
completion over a nuclear-norm ball, and a black-box problem over the simplex (about 10 s).

    python examples/frank_wolfe.py
"""

import numpy as np

import optkit
from optkit.problems.fw import matrix_completion, sparse_regression
from optkit.zeroth_order import ProbabilitySimplex, frank_wolfe

# 1. sparse regression: 10 non-zeros among 500 coefficients, 200 observations, over ||w||_1 <= ||w_true||_1
problem, lmo = sparse_regression(n=200, dim=500, k=10, seed=0)
for variant in ("vanilla", "away", "pairwise"):
    opt = optkit.make("frank-wolfe", problem.space, lmo=lmo, variant=variant, step="line-search")
    res = opt.minimize(problem, budget=2000 * problem.n_examples)
    print(f"sparse regression, {variant:8s}: {res.status.name:16s} {res.nit:5d} iterations, FW gap {res.gap:.1e}, "
          f"f - f* = {res.fun - problem.f_opt:.1e}, non-zeros {np.count_nonzero(np.abs(res.x) > 1e-6)}")

# 2. matrix completion: a rank-5 200 x 200 matrix from 20% of its entries; each LMO call is one top singular pair
problem, lmo = matrix_completion(200, 200, rank=5, observed=0.2, seed=0)
res = optkit.make("frank-wolfe", problem.space, lmo=lmo, step="line-search").minimize(problem, 300 * problem.n_examples)
X = res.x.reshape(200, 200)
print(f"matrix completion: {res.nit} iterations, relative error {np.linalg.norm(X - problem.truth) / np.linalg.norm(problem.truth):.3f}, "
      f"FW gap {res.gap:.1e}, certified f - f* <= {res.fun - res.dual_bound:.1e}")

# 3. the functional form, as scipy users expect: fun, grad, the feasible set and a start
b = np.array([0.1, 0.6, 0.3, -0.2, 0.2])
res = frank_wolfe(lambda x: float((x - b) @ (x - b)), lambda x: 2 * (x - b), ProbabilitySimplex(1.0), np.eye(5)[0],
                  variant="pairwise")
print(f"projection onto the simplex by pairwise FW: {np.round(res.x, 6)} (exact: [0.05 0.55 0.25 0 0.15]), gap {res.gap:.1e}")

# 4. gradient-free: the same problem from function values only (zeroth-order stochastic Frank-Wolfe)
blackbox = optkit.Problem(lambda x: float((x - b) @ (x - b)), optkit.Box(-1.0, 2.0, dim=5))
res = optkit.minimize(blackbox, method="zo-frank-wolfe", budget=8000, seed=0, lmo=ProbabilitySimplex(1.0), n_directions=4)
print(f"zo-frank-wolfe after 8000 evaluations: {np.round(res.x_iterate, 3)} (in the simplex), "
      f"f - f* = {blackbox(res.x_iterate) - blackbox(np.array([0.05, 0.55, 0.25, 0.0, 0.15])):.1e}")

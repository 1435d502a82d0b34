"""Bilevel optimization: tune per-feature ridge penalties on a validation split, three ways.

    python examples/bilevel.py        (a few seconds)

The upper variable x holds log-penalties exp(x_j) of the 10 diabetes features; the lower level fits the
ridge weights on the training half; the upper level is the validation loss. Budgets are oracle calls
(one example through one gradient, HVP or JVP oracle).
"""

import numpy as np

import optkit
from optkit.bilevel import problems

p = problems.ridge_hpo()
print(p, " F(x0) =", round(p.upper_objective(p.x0), 4))

# the hypergradient three ways, at x0 (y at y*(x0)); the problem also knows it in closed form
from optkit.bilevel.implicit import implicit_hypergradient, unrolled_hypergradient  # noqa: E402

y = p.lower_argmin(p.x0)
exact = p.exact_hypergradient(p.x0)
for label, h in [("cg, 20 HVPs", implicit_hypergradient(p, p.x0, y, method="cg", steps=20)[0]),
                 ("neumann, 200 terms", implicit_hypergradient(p, p.x0, y, method="neumann", steps=200, lr=0.2)[0]),
                 ("unrolled, 200 steps", unrolled_hypergradient(p, p.x0, y, steps=200, lr=0.2)[0])]:
    print(f"  hypergradient by {label:20s} relative error {np.linalg.norm(h - exact) / np.linalg.norm(exact):.1e}")

runs = {
    "bilevel-implicit": dict(hypergrad="cg", lr=3.0, lr_inner=0.05, inner_steps=10, solver_steps=10),
    "bilevel-penalty": dict(lr=3.0, lr_inner=0.05, inner_steps=10, sigma=1e-2),
    "bilevel-decentralized": dict(lr=3.0, lr_inner=0.05, n_agents=4, topology="ring"),
}
for name, kw in runs.items():
    p.reset_counts()
    opt = optkit.make(name, p.space, batch_size=32, upper_batch_size=32, seed=0, **kw)
    res = opt.minimize(p, 200_000)
    print(f"{name:22s} F(x) = {res.fun:.4f} after {res.nit} iterations, {res.nfev} oracle calls {res.oracle_counts}")
print("penalties exp(x) found by the last run:", np.round(np.exp(res.x), 3))

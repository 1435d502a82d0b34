"""Second-order methods on a :class:`~optkit.StochasticProblem`: Sophia, Newton-CG, L-BFGS, FOSI and
polynomial (Krylov) preconditioning.

They are registered optimizers of the family ``"second_order"``, built like the first-order methods
(optax-style transforms driven by :class:`optkit.core.gradient.GradientOptimizer`), through the family
layer :class:`optkit.second_order._base.SecondOrderOptimizer`, which gives their transforms line-search
and per-example oracles. Curvature comes from the problem's Hessian-vector products.

>>> import optkit
>>> p = optkit.problems.get("logreg_breast_cancer")
>>> res = optkit.make("lbfgs", p.space).minimize(p, budget=200 * p.n_examples)
>>> bool(res.fun - p.f_opt < 1e-10)
True
"""

"""Gradient methods on a :class:`~optkit.StochasticProblem`: SGD and adaptive baselines, Polyak step sizes.

Every method is a registered :class:`~optkit.Optimizer` (family ``"first_order"``) built from the
composable pieces of :mod:`optkit.core.transforms` by the layer in :mod:`optkit.core.gradient`.

>>> import optkit
>>> p = optkit.problems.get("least_squares", 5)
>>> res = optkit.make("sps", p.space, seed=0).minimize(p, budget=5000)
>>> bool(res.fun - p.f_opt < 1e-8)
True
"""

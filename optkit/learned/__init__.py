"""Learned optimizers: a generic per-coordinate MLP optimizer ("learned-mlp", after small_fc_lopt of
Metz et al. 2022) and the math-structured L2O-PA update ("learned-math", Liu et al. 2023), both
:class:`~optkit.core.gradient.GradientOptimizer` methods on a :class:`~optkit.StochasticProblem`,
with meta-training by evolution strategies (:func:`optkit.learned.meta.meta_train`).

>>> import optkit
>>> from optkit.problems.ml import least_squares
>>> p = least_squares(n=160, dim=8, condition=20.0, seed=1)
>>> res = optkit.make("learned-math", p.space, seed=0).minimize(p, budget=200 * 32)
>>> bool(res.fun < 1e-2 * p.objective(p.w0))
True
"""

from optkit.learned._net import load_weights, n_params, save_weights
from optkit.learned.math_l2o import LearnedMath
from optkit.learned.mlp_lopt import LearnedMLP

__all__ = ["LearnedMLP", "LearnedMath", "load_weights", "n_params", "save_weights"]

"""Bilevel optimization: ``min_x f(x, y*(x))`` with ``y*(x) = argmin_y g(x, y)``.

Methods (registered, run with ``opt.minimize(BilevelProblem, budget)``, budget in oracle calls):

* ``bilevel-implicit``: gradient descent on ``x`` with hypergradients by implicit differentiation
  (conjugate gradient or Neumann series on Hessian-vector products) or by reverse-mode differentiation
  through unrolled lower-level steps (``hypergrad="cg" | "neumann" | "unrolled"``);
* ``bilevel-penalty``: the first-order penalty method of Kwon, Kwon, Wright & Nowak (ICLR 2024), only
  gradients of ``f`` and ``g``, the penalty parameter ``sigma`` driven to its target;
* ``bilevel-decentralized``: decentralized stochastic bilevel optimization (Chen, Huang, Ma &
  Balasubramanian, ICML 2023) with ``n`` agents on a ring, torus or random graph, first-order, HVP and
  JVP oracles only.

>>> import optkit
>>> from optkit.bilevel import problems
>>> p = problems.toy_quadratic()
>>> res = optkit.make("bilevel-implicit", p.space, lr=0.15, lr_inner=0.5, seed=0).minimize(p, 200_000)
>>> bool(abs(res.fun - p.f_opt) < 1e-8)
True
"""

from optkit.bilevel.problem import BilevelProblem, NotStronglyConvexError

__all__ = ["BilevelProblem", "NotStronglyConvexError"]

"""Zeroth-order optimization: gradient estimates from function values only, and the ask/tell methods
built on them (``zo-sgd``, ``zo-signsgd``, ``zo-adam``, ``zo-saddle``).

>>> import optkit
>>> res = optkit.minimize(lambda x: float(((x - 0.5) ** 2).sum()), [(-2, 2)] * 4, method="zo-adam",
...                       budget=3000, seed=0, lr=0.05)
>>> bool(res.fun < 1e-6)
True
"""

# -- gradient estimators and zeroth-order methods -------------------------------------------------
from optkit.zeroth_order.estimators import (
    CGE,
    CentralDifference,
    Estimator,
    ForwardDifference,
    GaussianTwoPoint,
    SphereTwoPoint,
    make_estimator,
)
from optkit.zeroth_order.saddle import ZOSaddle
from optkit.zeroth_order.zo_sgd import ZOSGD, ZOAdam, ZOSignSGD

__all__ = [
    "CGE", "CentralDifference", "Estimator", "ForwardDifference", "GaussianTwoPoint", "SphereTwoPoint",
    "ZOAdam", "ZOSGD", "ZOSaddle", "ZOSignSGD", "make_estimator",
]

# -- Frank-Wolfe and linear minimization oracles (lmo.py, frank_wolfe.py, zo_frank_wolfe.py) ------
# (their imports go below this line, and their names are appended to __all__ with __all__ += [...])
from optkit.zeroth_order.frank_wolfe import FrankWolfe, frank_wolfe  # noqa: E402
from optkit.zeroth_order.lmo import (  # noqa: E402
    LMO,
    BirkhoffPolytope,
    BoxLMO,
    KSparsePolytope,
    L1Ball,
    L2Ball,
    LInfBall,
    NuclearNormBall,
    ProbabilitySimplex,
    UnitSimplex,
    from_spec,
)
from optkit.zeroth_order.zo_frank_wolfe import ZOFrankWolfe  # noqa: E402

__all__ += [
    "LMO", "BirkhoffPolytope", "BoxLMO", "FrankWolfe", "KSparsePolytope", "L1Ball", "L2Ball", "LInfBall",
    "NuclearNormBall", "ProbabilitySimplex", "UnitSimplex", "ZOFrankWolfe", "frank_wolfe", "from_spec",
]

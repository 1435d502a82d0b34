"""TPE on a mixed hyperparameter-like space: a log-scaled real, an integer and a category.

Run: python examples/tpe.py  (about a second)
"""

import math

import optkit

space = optkit.SearchSpace({
    "lr": optkit.Real(1e-4, 1.0, log=True),
    "layers": optkit.Integer(1, 8),
    "act": optkit.Categorical(["relu", "tanh", "gelu"]),
})


def loss(p):
    """A synthetic validation loss: best near lr = 1e-2, 3 layers, gelu."""
    return (math.log10(p["lr"]) + 2) ** 2 + 0.2 * (p["layers"] - 3) ** 2 + {"relu": 0.3, "tanh": 0.6, "gelu": 0.0}[p["act"]]


for multivariate in (False, True):
    res = optkit.make("tpe", space, seed=0, multivariate=multivariate).minimize(optkit.Problem(loss, space), 80)
    print(f"multivariate={multivariate}: best loss {res.fun:.4f} at {space.to_dict(res.x)}")

"""The ask/tell loop by hand: you own the evaluation (a lab, a cluster, a simulator)."""

import numpy as np

import optkit

space = optkit.SearchSpace({
    "learning_rate": optkit.Real(1e-4, 1e-1, log=True),
    "layers": optkit.Integer(1, 6),
    "activation": optkit.Categorical(["relu", "tanh", "gelu"]),
})


def validation_loss(p: dict) -> float:
    """A stand-in for training a model with hyperparameters ``p``."""
    penalty = {"relu": 0.0, "tanh": 0.05, "gelu": 0.02}[p["activation"]]
    return (np.log10(p["learning_rate"]) + 2.5) ** 2 + 0.1 * (p["layers"] - 3) ** 2 + penalty


if __name__ == "__main__":
    opt = optkit.make("pycma", space, seed=0)
    best = (np.inf, None)
    for _ in range(30):
        X = opt.ask()                                   # (n, d): categories as indices
        params = [space.to_dict(x) for x in X]          # named values for the user
        y = [validation_loss(p) for p in params]
        opt.tell(X, y)
        best = min(best, *zip(y, params), key=lambda t: t[0])
    print("best loss", round(best[0], 4), "with", best[1])

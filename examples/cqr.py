"""Tune scikit-learn models with CQR (conformalized quantile regression), single- and multi-fidelity.

1. An SVM on the digits data set, mixed search space (log-reals, an integer, a categorical),
   through ``optkit.minimize(..., method="cqr")``.
2. An MLP whose training length (epochs) is the resource: ASHA with CQR choosing the new
   configurations (``CQR.minimize_fidelity``), values reported at 1, 3 and 9 epochs.

Runs in well under 30 s on a laptop: ``python examples/cqr.py``.
"""

import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

import optkit

X, y = load_digits(return_X_y=True)
X = X / 16.0

# -- 1. single fidelity: the objective receives a {name: value} dict ----------------------------------
space = optkit.SearchSpace({
    "C": optkit.Real(1e-2, 1e3, log=True),
    "gamma": optkit.Real(1e-5, 1e-1, log=True),
    "kernel": optkit.Categorical(["rbf", "poly", "sigmoid"]),
    "degree": optkit.Integer(2, 5),
})


def cv_error(p):
    model = SVC(C=p["C"], gamma=p["gamma"], kernel=p["kernel"], degree=p["degree"])
    return 1.0 - cross_val_score(model, X, y, cv=3).mean()


res = optkit.minimize(cv_error, space, method="cqr", budget=15, seed=0, n_estimators=50)
print(f"SVM: best 3-fold CV error {res.fun:.4f} at {space.to_dict(res.x)} ({res.nfev} evaluations)")

# -- 2. multi-fidelity: fun(x, resource) with the point as numbers (space.to_dict names them) ---------
Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.33, random_state=0)
mlp_space = optkit.SearchSpace({
    "learning_rate_init": optkit.Real(1e-4, 1e-1, log=True),
    "hidden": optkit.Integer(16, 64, log=True),
    "activation": optkit.Categorical(["relu", "tanh", "logistic"]),
})


def val_error(x, epochs):
    p = mlp_space.to_dict(x)
    model = MLPClassifier((p["hidden"],), activation=p["activation"], learning_rate_init=p["learning_rate_init"],
                          max_iter=int(epochs), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(Xtr, ytr)
    return 1.0 - model.score(Xva, yva)


opt = optkit.make("cqr", mlp_space, seed=0, n_estimators=50)
mf = opt.minimize_fidelity(val_error, budget=90, min_resource=1, max_resource=9, eta=3)
counts = {r: int(np.sum(mf.resource == r)) for r in mf.rungs}
print(f"MLP: {mf.nit} configurations, evaluations per rung (epochs: count) {counts}, "
      f"{mf.total_resource:g} epochs in total")
print(f"MLP: best validation error at 9 epochs {mf.fun:.4f} at {mlp_space.to_dict(mf.x)}")

# the ask/tell form of the same thing: report a configuration's value at each resource it reached
opt = optkit.make("cqr", mlp_space, seed=1)
x = opt.ask()[0]
for epochs in (1, 3):
    opt.tell_fidelity(x, [val_error(x, epochs)], epochs)
print("ask/tell: the model trains on", opt.training_data()[1], "(each trial at its highest resource)")

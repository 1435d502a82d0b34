"""CQR on hyperparameter-tuning problems: single fidelity against random search, Optuna TPE and ``bo``;
multi-fidelity (ASHA-CQR) against single fidelity at equal total resource.

Part ``sf`` (single fidelity): tune an SVM on scikit-learn's digits (1797 images, 10 classes),
minimizing ``1 - accuracy`` of 3-fold cross-validation, in a mixed space::

    C      Real(1e-2, 1e3, log)     gamma   Real(1e-5, 1e-1, log)
    kernel Categorical(rbf, poly, sigmoid)    degree Integer(2, 5) (used by poly)

Methods: ``cqr`` (optkit defaults), ``bo`` (optkit GP-BO defaults), ``optuna-tpe``
(``TPESampler(seed=s)``), ``random`` (optkit). Each gets ``--budget`` evaluations.

Part ``mf`` (multi-fidelity): train an MLP on digits (train 1203 / validation 594, fixed split),
minimizing the validation error after ``resource`` epochs (Adam, trained from scratch each time)::

    learning_rate_init Real(1e-4, 1e-1, log)   alpha Real(1e-6, 1e-1, log)
    hidden Integer(16, 128, log)   batch_size Integer(32, 256, log)   activation Categorical(relu, tanh, logistic)

At the same total resource (``--mf-budget`` epochs, 20 full trainings by default), runs of
``CQR.minimize_fidelity``: ``asha-cqr`` (rungs 1, 3, 9, 27 epochs, eta 3), ``asha-random`` (the
same schedule with random configurations: ``n_init`` larger than any run), ``cqr`` and ``random``
(every trial at 27 epochs). Reported: the validation error at 27 epochs of the configuration
returned (the best one evaluated at 27 epochs).

Run::

    python benchmarks/compare_cqr.py --seeds 5                 # both parts
    python benchmarks/compare_cqr.py --part sf --seeds 3 --budget 30

The tables report, per method, the median final error over seeds with the 25-75 % range, the
mean, and the median seconds of computation spent by the method itself per evaluation (run time
minus time in the objective).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import optkit
from optkit.bayesopt.cqr import CQR

BIG = 10**9


# -- problems ---------------------------------------------------------------------------------------
def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


SVM_SPACE = optkit.SearchSpace({
    "C": optkit.Real(1e-2, 1e3, log=True),
    "gamma": optkit.Real(1e-5, 1e-1, log=True),
    "kernel": optkit.Categorical(["rbf", "poly", "sigmoid"]),
    "degree": optkit.Integer(2, 5),
})

MLP_SPACE = optkit.SearchSpace({
    "learning_rate_init": optkit.Real(1e-4, 1e-1, log=True),
    "alpha": optkit.Real(1e-6, 1e-1, log=True),
    "hidden": optkit.Integer(16, 128, log=True),
    "batch_size": optkit.Integer(32, 256, log=True),
    "activation": optkit.Categorical(["relu", "tanh", "logistic"]),
})


class Timed:
    """Wraps an objective and adds up the seconds spent in it."""

    def __init__(self, fun):
        self.fun, self.seconds = fun, 0.0

    def __call__(self, *args):
        t = time.perf_counter()
        try:
            return self.fun(*args)
        finally:
            self.seconds += time.perf_counter() - t


def svm_objective():
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC

    X, y = _digits()

    def f(p: dict) -> float:
        model = SVC(C=p["C"], gamma=p["gamma"], kernel=p["kernel"], degree=int(p["degree"]))
        return float(1.0 - cross_val_score(model, X, y, cv=3).mean())

    return f


def mlp_objective():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    X, y = _digits()
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.33, random_state=0)

    def f(x: np.ndarray, epochs) -> float:
        p = MLP_SPACE.to_dict(x)
        model = MLPClassifier((p["hidden"],), activation=p["activation"], learning_rate_init=p["learning_rate_init"],
                              alpha=p["alpha"], batch_size=p["batch_size"], max_iter=int(epochs), random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(Xtr, ytr)
        return float(1.0 - model.score(Xva, yva))

    return f


# -- single fidelity --------------------------------------------------------------------------------
def run_sf(method: str, seed: int, budget: int, fun) -> tuple[float, float]:
    f = Timed(fun)
    t = time.perf_counter()
    if method == "optuna-tpe":
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)

        def obj(trial):
            return f({"C": trial.suggest_float("C", 1e-2, 1e3, log=True),
                      "gamma": trial.suggest_float("gamma", 1e-5, 1e-1, log=True),
                      "kernel": trial.suggest_categorical("kernel", ["rbf", "poly", "sigmoid"]),
                      "degree": trial.suggest_int("degree", 2, 5)})

        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(obj, n_trials=budget)
        best = study.best_value
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            best = optkit.minimize(f, SVM_SPACE, method=method, budget=budget, seed=seed).fun
    overhead = (time.perf_counter() - t - f.seconds) / budget
    return float(best), overhead


# -- multi-fidelity ---------------------------------------------------------------------------------
MF_METHODS = {
    # name: (min_resource, n_init)
    "asha-cqr": (1, 5),
    "asha-random": (1, BIG),
    "cqr": (27, 5),
    "random": (27, BIG),
}


def run_mf(method: str, seed: int, budget: int, fun) -> tuple[float, float, int]:
    lo, n_init = MF_METHODS[method]
    f = Timed(fun)
    t = time.perf_counter()
    opt = CQR(MLP_SPACE, seed=seed, n_init=n_init)
    res = opt.minimize_fidelity(f, budget, min_resource=lo, max_resource=27, eta=3)
    overhead = (time.perf_counter() - t - f.seconds) / res.nfev
    return float(res.fun), overhead, int(res.nit)


def _row(name: str, vals, secs, extra: str = "") -> str:
    v = np.asarray(vals)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return f"| {name} | {med:.4f} [{q1:.4f}, {q3:.4f}] | {v.mean():.4f} |{extra} {np.median(secs):.3f} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["sf", "mf", "both"], default="both")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=40, help="evaluations of the single-fidelity part")
    ap.add_argument("--mf-budget", type=int, default=540, help="total epochs of the multi-fidelity part")
    ap.add_argument("--methods", nargs="*", default=None)
    args = ap.parse_args()
    if args.part in ("sf", "both"):
        fun = svm_objective()
        methods = args.methods or ["cqr", "bo", "optuna-tpe", "random"]
        print(f"\nSVM on digits, 1 - 3-fold CV accuracy, {args.budget} evaluations, {args.seeds} seeds\n")
        print("| method | median final error [25%, 75%] | mean | s / evaluation (method) |")
        print("|---|---|---|---|")
        for m in methods:
            vals, secs = zip(*(run_sf(m, s, args.budget, fun) for s in range(args.seeds)))
            print(_row(m, vals, secs), flush=True)
    if args.part in ("mf", "both"):
        fun = mlp_objective()
        methods = [m for m in (args.methods or MF_METHODS) if m in MF_METHODS]
        print(f"\nMLP on digits, validation error at 27 epochs, {args.mf_budget} epochs in total, {args.seeds} seeds\n")
        print("| method | median final error [25%, 75%] | mean | configurations tried (median) | s / evaluation (method) |")
        print("|---|---|---|---|---|")
        for m in methods:
            out = [run_mf(m, s, args.mf_budget, fun) for s in range(args.seeds)]
            vals, secs, trials = zip(*out)
            print(_row(m, vals, secs, f" {int(np.median(trials))} |"), flush=True)


if __name__ == "__main__":
    main()

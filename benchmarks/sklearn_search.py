"""Hyperparameter search on scikit-learn's datasets: best cross-validated score vs number of fits.

OptkitSearchCV (``bo`` and ``cmaes``) against RandomizedSearchCV and Optuna's OptunaSearchCV (TPE),
in the same process, the same folds (StratifiedKFold(3, shuffle=True, random_state=0)) and the same
search spaces, over several seeds. Each method evaluates ``--n-iter`` candidates (3 fits each); the
table gives the mean over seeds of the best mean CV accuracy after 10, 20, ... candidates (the
worst seed in brackets) and the seconds per search (fits included, one thread).

Tasks: SVC (C, gamma on log scales) on digits and on breast cancer (standardized in a Pipeline);
HistGradientBoostingClassifier (learning rate, leaves, min samples per leaf, l2; 50 iterations) on
breast cancer. ``--tasks hgb-digits`` adds gradient boosting on digits (about 2 s per candidate here).
California housing needs a download (``fetch_california_housing``) and is left out: the benchmark
runs offline.

    OMP_NUM_THREADS=1 python benchmarks/sklearn_search.py              # 5 seeds, 30 candidates
    OMP_NUM_THREADS=1 python benchmarks/sklearn_search.py --seeds 1 --n-iter 10 --tasks svc-bc   # quick
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.stats import loguniform, randint  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

from optkit.sklearn import OptkitSearchCV  # noqa: E402


def _tasks():
    """name -> (estimator, scipy space, optuna space builder, data loader)."""

    def svc_space(prefix=""):
        return {f"{prefix}C": loguniform(1e-2, 1e3), f"{prefix}gamma": loguniform(1e-5, 1.0)}

    def svc_optuna(prefix=""):
        from optuna.distributions import FloatDistribution

        return {f"{prefix}C": FloatDistribution(1e-2, 1e3, log=True), f"{prefix}gamma": FloatDistribution(1e-5, 1.0, log=True)}

    hgb_space = {"learning_rate": loguniform(1e-3, 1.0), "max_leaf_nodes": randint(4, 65),
                 "min_samples_leaf": randint(2, 65), "l2_regularization": loguniform(1e-6, 10.0)}

    def hgb_optuna():
        from optuna.distributions import FloatDistribution, IntDistribution

        return {"learning_rate": FloatDistribution(1e-3, 1.0, log=True), "max_leaf_nodes": IntDistribution(4, 64),
                "min_samples_leaf": IntDistribution(2, 64), "l2_regularization": FloatDistribution(1e-6, 10.0, log=True)}

    def hgb(max_iter):
        return HistGradientBoostingClassifier(max_iter=max_iter, early_stopping=False, random_state=0)

    return {
        "svc-digits": (SVC(), svc_space(), svc_optuna, lambda: load_digits(return_X_y=True)),
        "svc-bc": (make_pipeline(StandardScaler(), SVC()), svc_space("svc__"), lambda: svc_optuna("svc__"),
                   lambda: load_breast_cancer(return_X_y=True)),
        "hgb-bc": (hgb(50), hgb_space, hgb_optuna, lambda: load_breast_cancer(return_X_y=True)),
        "hgb-digits": (hgb(50), hgb_space, hgb_optuna, lambda: load_digits(return_X_y=True)),
    }


def _scores_in_order(method, est, space, optuna_space, X, y, cv, n_iter, seed):
    """Mean CV accuracy of each candidate in the order evaluated."""
    if method in ("optkit-bo", "optkit-cmaes"):
        s = OptkitSearchCV(est, space, method=method.split("-")[1], n_iter=n_iter, cv=cv, refit=False, random_state=seed)
        return s.fit(X, y).cv_results_["mean_test_score"]
    if method == "randomized":
        s = RandomizedSearchCV(est, space, n_iter=n_iter, cv=cv, refit=False, random_state=seed)
        return s.fit(X, y).cv_results_["mean_test_score"]
    import optuna
    from optuna_integration import OptunaSearchCV  # pip install optuna-integration

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = OptunaSearchCV(est, optuna_space(), n_trials=n_iter, cv=cv, refit=False, random_state=seed, verbose=0)
    s.fit(X, y)
    return np.array([t.value for t in sorted(s.trials_, key=lambda t: t.number)])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--n-iter", type=int, default=30)
    p.add_argument("--tasks", nargs="+", default=["svc-digits", "svc-bc", "hgb-bc"])
    p.add_argument("--methods", nargs="+", default=["optkit-bo", "optkit-cmaes", "randomized", "optuna-tpe"])
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    if "optuna-tpe" in args.methods:
        try:
            import optuna_integration  # noqa: F401
        except ImportError:
            print("optuna-integration is not installed: OptunaSearchCV left out (pip install optuna-integration)")
            args.methods.remove("optuna-tpe")
    tasks = _tasks()
    checkpoints = [k for k in range(10, args.n_iter + 1, 10)] or [args.n_iter]
    if checkpoints[-1] != args.n_iter:
        checkpoints.append(args.n_iter)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    head = " | ".join(f"best after {k} ({3 * k} fits)" for k in checkpoints)
    print(f"| task | method | {head} | s / search |")
    print("|---|---|" + "---|" * len(checkpoints) + "---|")
    for name in args.tasks:
        est, space, optuna_space, load = tasks[name]
        X, y = load()
        for method in args.methods:
            curves, secs = [], []
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                scores = _scores_in_order(method, est, space, optuna_space, X, y, cv, args.n_iter, seed)
                secs.append(time.perf_counter() - t0)
                curves.append(np.fmax.accumulate(np.nan_to_num(scores, nan=-np.inf)))
            C = np.array(curves)
            cells = " | ".join(f"{C[:, k - 1].mean():.4f} [{C[:, k - 1].min():.4f}]" for k in checkpoints)
            print(f"| {name} | {method} | {cells} | {np.mean(secs):.1f} |", flush=True)


if __name__ == "__main__":
    main()

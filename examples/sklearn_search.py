"""scikit-learn wrappers: OptkitSearchCV as a drop-in for RandomizedSearchCV, a resumable search,
successive halving, and three estimators fitted by optkit optimizers. About 5 s of CPU (with torch for BO).

    python examples/sklearn_search.py
"""

import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import QuantileRegressor
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from optkit.sklearn import DPLogisticRegression, FrankWolfeLasso, OptkitSearchCV, ZerothOrderRegressor

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
pipe = make_pipeline(StandardScaler(), SVC())
space = {"svc__C": loguniform(1e-2, 1e3), "svc__gamma": loguniform(1e-5, 1.0), "svc__kernel": ["rbf", "sigmoid"]}

# 1. the search, exactly as RandomizedSearchCV would be used (method="bo" needs torch, the `bo` extra)
try:
    import torch  # noqa: F401

    method = "bo"
except ImportError:
    method = "cmaes"
search = OptkitSearchCV(pipe, space, method=method, n_iter=15, cv=3, random_state=0, n_jobs=1)
search.fit(X_train, y_train)
print(f"{method}: best CV accuracy {search.best_score_:.4f} with {search.best_params_}")
print(f"  test accuracy of the refitted best model: {search.score(X_test, y_test):.4f}")
print(f"  cv_results_ has {len(search.cv_results_['params'])} rows and the keys of RandomizedSearchCV's")

# 2. a journaled search: stop after 6 candidates, then continue to 12 without refitting the first 6
with tempfile.TemporaryDirectory() as tmp:
    journal = Path(tmp) / "svc-search.sqlite"
    kw = dict(method="cmaes", cv=3, random_state=1, journal=journal)
    first = OptkitSearchCV(pipe, space, n_iter=6, **kw).fit(X_train, y_train)
    more = OptkitSearchCV(pipe, space, n_iter=12, **kw).fit(X_train, y_train)
    same = np.array_equal(first.cv_results_["mean_fit_time"], more.cv_results_["mean_fit_time"][:6])
    print(f"resumed: {len(more.cv_results_['params'])} candidates, the first 6 replayed from the journal: {same}")

# 3. successive halving over the training-set size: 9 candidates on 63 samples, the best 3 on 190, 1 on all
halving = OptkitSearchCV(pipe, space, method="cmaes", n_iter=9, cv=3, random_state=0, resource="n_samples",
                         min_resources=60, factor=3).fit(X, y)
print(f"halving: rungs {halving.n_resources_}, rows per rung {np.bincount(halving.cv_results_['iter']).tolist()}, "
      f"best {halving.best_score_:.4f} at {halving.cv_results_['n_resources'][halving.best_index_]} samples")

# 4. estimators fitted by optkit optimizers
rng = np.random.default_rng(0)
Xr = rng.normal(size=(400, 3))
yr = Xr @ [1.5, -2.0, 0.0] + rng.standard_t(2, 400)
zo = ZerothOrderRegressor(loss="quantile", quantile=0.9, random_state=0).fit(Xr, yr)
lp = QuantileRegressor(quantile=0.9, alpha=0.0).fit(Xr, yr)
print(f"ZerothOrderRegressor (CMA-ES, pinball loss, q=0.9): coef {np.round(zo.coef_, 4)}; "
      f"QuantileRegressor's linear program: {np.round(lp.coef_, 4)}")
fw = FrankWolfeLasso(radius=2.0).fit(Xr, yr)
print(f"FrankWolfeLasso(radius=2): coef {np.round(fw.coef_, 4)}, ||coef||_1 = {np.abs(fw.coef_).sum():.4f}, "
      f"duality gap {fw.gap_:.1e}")
Xs = StandardScaler().fit_transform(X)  # (for a real privacy guarantee, scale with data-independent bounds)
dp = DPLogisticRegression(epsilon=1.0, delta=1e-5, random_state=0).fit(Xs, y)
print(f"DPLogisticRegression(epsilon=1): accuracy {dp.score(Xs, y):.4f}, epsilon spent {dp.epsilon_spent_:.3f}")

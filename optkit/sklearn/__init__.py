"""scikit-learn wrappers: hyperparameter search driven by optkit optimizers, and estimators fitted by them.

* :class:`OptkitSearchCV`: a drop-in for ``RandomizedSearchCV`` (BO, CMA-ES, CQR or any registry
  name; parallel fits, multi-metric scoring, journal resume, successive halving over a resource);
* :class:`ZerothOrderRegressor` (a linear model on a quantile, absolute or ranking loss, fitted by a
  derivative-free method), :class:`FrankWolfeLasso` (l1-ball constrained least squares by
  Frank-Wolfe), :class:`DPLogisticRegression` (DP-SGD with an RDP accountant, ``epsilon_spent_``);
* :func:`to_search_space`: scikit-learn style search spaces (scipy.stats distributions, lists) as an
  optkit :class:`~optkit.SearchSpace`.

Importing this package imports scikit-learn (a core dependency of optkit), not torch.
"""

from optkit.sklearn.estimators import DPLogisticRegression, FrankWolfeLasso, ZerothOrderRegressor
from optkit.sklearn.search import OptkitSearchCV
from optkit.sklearn.spaces import to_search_space

__all__ = ["DPLogisticRegression", "FrankWolfeLasso", "OptkitSearchCV", "ZerothOrderRegressor", "to_search_space"]

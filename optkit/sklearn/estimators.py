"""scikit-learn estimators fitted by optkit optimizers.

* :class:`ZerothOrderRegressor`: a linear model fitted by a derivative-free optimizer (CMA-ES by
  default, any ask/tell registry name) on a loss without a useful gradient: the pinball (quantile)
  loss, the absolute loss, or a pairwise ranking hinge;
* :class:`FrankWolfeLasso`: least squares with the l1-ball constraint ``||w||_1 <= radius``, solved
  by Frank-Wolfe (:func:`optkit.zeroth_order.frank_wolfe` with :class:`~optkit.zeroth_order.L1Ball`),
  with the duality-gap certificate;
* :class:`DPLogisticRegression`: binary logistic regression by DP-SGD at ``(epsilon, delta)``
  (:func:`optkit.privacy.private_logistic_regression`, the RDP accountant), the budget actually
  spent in ``epsilon_spent_``.

Each is a proper scikit-learn estimator (``get_params``/``set_params``/``clone``, input validation,
``n_features_in_``) and passes scikit-learn's ``check_estimator``; invalid constructor arguments
raise :class:`~optkit.sklearn._validation.ParameterError` (an optkit ``InvalidParameterError`` and a
``ValueError``) at ``fit``.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from optkit.core.errors import InvalidParameterError
from optkit.sklearn._validation import ValidatedMixin
from optkit.sklearn.search import _seed_from

LOSSES = ("quantile", "absolute", "ranking")
#: pairs drawn for the ranking loss when there are more (a fixed sample per fit)
MAX_PAIRS = 20000


def _standardize(X, center: bool):
    mu = X.mean(axis=0) if center else np.zeros(X.shape[1])
    sd = X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (X - mu) / sd, mu, sd


class ZerothOrderRegressor(ValidatedMixin, RegressorMixin, BaseEstimator):
    """A linear model ``y ~ X w + b`` fitted by a derivative-free optkit optimizer.

    The loss (mean over the samples, plus ``alpha * ||w||^2`` on the standardized coefficients):

    * ``"quantile"``: the pinball loss ``max(q r, (q - 1) r)`` of the residual ``r = y - f(x)`` at level
      ``q = quantile`` (the conditional ``q``-quantile; scikit-learn's ``QuantileRegressor`` solves the
      same problem with ``alpha=0`` by linear programming);
    * ``"absolute"``: ``|r|`` (the median, ``quantile=0.5``);
    * ``"ranking"``: the pairwise hinge ``max(0, 1 - (f(x_i) - f(x_j)))`` over the pairs with
      ``y_i > y_j`` (at most ``MAX_PAIRS`` of them, drawn once per fit), in standardized units; the
      predictions order the samples, and the intercept puts their median on the median of ``y``.

    None of these has a gradient an optimizer can use well (kinks, flat pieces), which is what the
    derivative-free methods are for. The features and the target are standardized before the search
    and the coefficients mapped back; the search box is ``[-bound, bound]`` per standardized
    coefficient.

    Parameters
    ----------
    loss : {"quantile", "absolute", "ranking"}
    quantile : float in (0, 1)
        The level of ``loss="quantile"``.
    alpha : float >= 0
        l2 penalty on the standardized coefficients.
    fit_intercept : bool
    method : str
        An ask/tell optkit optimizer (``"cmaes"``, ``"de"``, ``"nelder-mead"``, ``"xnes"``, ...).
    max_evals : int, optional
        Loss evaluations (default ``500 * (n_features + 1) + 1000``).
    bound : float
        Half-width of the search box of each standardized coefficient.
    method_params : dict, optional
        Hyperparameters of the optimizer.
    random_state : int, RandomState or None

    Attributes
    ----------
    coef_ : ndarray (n_features,)
    intercept_ : float
    loss_ : float
        The final value of the (standardized) objective.
    n_evals_ : int
        Loss evaluations used.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import QuantileRegressor
    >>> from optkit.sklearn import ZerothOrderRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = X @ [2.0, -1.0] + 0.5 + rng.standard_t(2, 300)
    >>> m = ZerothOrderRegressor(loss="quantile", quantile=0.9, random_state=0).fit(X, y)
    >>> lp = QuantileRegressor(quantile=0.9, alpha=0.0).fit(X, y)  # the same problem by linear programming
    >>> bool(np.allclose(m.coef_, lp.coef_, atol=1e-5)), bool(abs(m.intercept_ - lp.intercept_) < 1e-5)
    (True, True)
    """

    _parameter_constraints: dict = {
        "loss": [StrOptions(set(LOSSES))],
        "quantile": [Interval(numbers.Real, 0, 1, closed="neither")],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "method": [str],
        "max_evals": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "bound": [Interval(numbers.Real, 0, None, closed="neither")],
        "method_params": [dict, None],
        "random_state": ["random_state"],
    }

    def __init__(self, loss="quantile", *, quantile=0.5, alpha=0.0, fit_intercept=True, method="cmaes", max_evals=None,
                 bound=10.0, method_params=None, random_state=None):
        self.loss = loss
        self.quantile = quantile
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.method = method
        self.max_evals = max_evals
        self.bound = bound
        self.method_params = method_params
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the coefficients by minimizing the loss with ``method``."""
        import optkit
        from optkit.core.gradient import GradientOptimizer

        self._validate_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        cls = optkit.get(self.method)
        if issubclass(cls, GradientOptimizer) or cls.family == "bilevel":
            raise InvalidParameterError(
                f"ZerothOrderRegressor: method={self.method!r} needs gradients or a bilevel problem; give an ask/tell "
                "method that uses values only (e.g. 'cmaes', 'de', 'xnes', 'nelder-mead')"
            )
        intercept = self.fit_intercept and self.loss != "ranking"
        Z, mu, sd = _standardize(X, center=self.fit_intercept)
        y_mid = float(np.median(y)) if self.fit_intercept else 0.0
        y_scale = float(np.std(y)) or 1.0
        t = (y - y_mid) / y_scale
        d = X.shape[1]
        seed = _seed_from(self.random_state)
        q = 0.5 if self.loss == "absolute" else float(self.quantile)
        pairs = _pairs(t, np.random.default_rng(seed)) if self.loss == "ranking" else None

        def objective(W):
            P = Z @ W[:, :d].T
            if intercept:
                P = P + W[:, d]
            if pairs is None:
                R = t[:, None] - P
                loss = np.maximum(q * R, (q - 1.0) * R).mean(axis=0)
            else:
                loss = np.maximum(0.0, 1.0 - (P[pairs[0]] - P[pairs[1]])).mean(axis=0) if pairs[0].size else np.zeros(len(W))
            return loss + self.alpha * (W[:, :d] ** 2).sum(axis=1)

        p = d + int(intercept)
        budget = self.max_evals or 500 * (d + 1) + 1000
        res = optkit.minimize(objective, [(-self.bound, self.bound)] * p, method=cls.name, budget=budget, seed=seed,
                              vectorized=True, **(self.method_params or {}))
        w = np.asarray(res.x, dtype=np.float64)
        self.coef_ = w[:d] / sd * y_scale
        if intercept:
            self.intercept_ = float(y_mid + y_scale * w[d] - self.coef_ @ mu)
        elif self.loss == "ranking" and self.fit_intercept:
            self.intercept_ = float(np.median(y - X @ self.coef_))
        else:
            self.intercept_ = 0.0
        self.loss_, self.n_evals_ = float(res.fun), int(res.nfev)
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_


def _pairs(t: np.ndarray, rng: np.random.Generator):
    """Index arrays (i, j) of pairs with t_i > t_j: all of them, or MAX_PAIRS drawn."""
    n = t.size
    if n * (n - 1) // 2 <= MAX_PAIRS:
        i, j = np.triu_indices(n, 1)
    else:
        i, j = rng.integers(0, n, MAX_PAIRS), rng.integers(0, n, MAX_PAIRS)
    keep = t[i] != t[j]
    i, j = i[keep], j[keep]
    hi = np.where(t[i] > t[j], i, j)
    lo = np.where(t[i] > t[j], j, i)
    return hi, lo


class FrankWolfeLasso(ValidatedMixin, RegressorMixin, BaseEstimator):
    """Least squares in the l1 ball: ``min (1 / 2n) ||y - X w - b||^2  s.t.  ||w||_1 <= radius``.

    The constrained form of the Lasso (Tibshirani's original one), solved by Frank-Wolfe: each
    iteration moves toward one vertex ``+-radius e_i`` of the ball, so the iterate after ``t``
    iterations has at most ``t`` non-zeros, and no projection is ever computed. The intercept is not
    constrained (``X`` and ``y`` are centred). ``gap_`` is the Frank-Wolfe duality gap at the
    solution: the objective is within ``gap_`` of the optimum.

    Parameters
    ----------
    radius : float > 0
        The l1 budget of the coefficients.
    fit_intercept : bool
    variant : {"pairwise", "away", "vanilla"}
        Frank-Wolfe variant (:func:`optkit.zeroth_order.frank_wolfe`); pairwise and away steps
        converge linearly on the l1 ball (a polytope), vanilla as O(1/t).
    tol : float
        Stop when the duality gap is at most ``tol`` (relative to ``mean(y**2) / 2``).
    max_iter : int

    Attributes
    ----------
    coef_, intercept_, n_iter_
    gap_ : float
        The duality gap certificate (absolute, objective units).

    Examples
    --------
    >>> import numpy as np
    >>> from optkit.sklearn import FrankWolfeLasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 5)); y = X @ [1.5, 0, 0, -0.5, 0] + 0.01 * rng.normal(size=100)
    >>> m = FrankWolfeLasso(radius=1.0).fit(X, y)
    >>> round(float(np.abs(m.coef_).sum()), 6), int((m.coef_ != 0).sum()) <= 3
    (1.0, True)
    """

    _parameter_constraints: dict = {
        "radius": [Interval(numbers.Real, 0, None, closed="neither")],
        "fit_intercept": ["boolean"],
        "variant": [StrOptions({"pairwise", "away", "vanilla"})],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, radius=1.0, *, fit_intercept=True, variant="pairwise", tol=1e-8, max_iter=1000):
        self.radius = radius
        self.fit_intercept = fit_intercept
        self.variant = variant
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y):
        """Solve the constrained least squares by Frank-Wolfe."""
        from optkit.zeroth_order import L1Ball, frank_wolfe

        self._validate_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        n, d = X.shape
        xm = X.mean(axis=0) if self.fit_intercept else np.zeros(d)
        ym = float(y.mean()) if self.fit_intercept else 0.0
        A, b = X - xm, y - ym
        L = float(np.linalg.norm(A, 2) ** 2 / n) or 1.0

        def fun(w):
            r = A @ w - b
            return 0.5 * float(r @ r) / n

        def grad(w):
            return A.T @ (A @ w - b) / n

        scale = max(0.5 * float(b @ b) / n, np.finfo(float).tiny)
        res = frank_wolfe(fun, grad, L1Ball(float(self.radius)), np.zeros(d), variant=self.variant, step="short", L=L,
                          tol=float(self.tol) * scale, max_iter=int(self.max_iter))
        self.coef_ = np.asarray(res.x, dtype=np.float64)
        self.intercept_ = float(ym - xm @ self.coef_)
        self.gap_, self.n_iter_ = float(res.gap), int(res.nit)
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_


class DPLogisticRegression(ValidatedMixin, ClassifierMixin, BaseEstimator):
    """Binary logistic regression trained by DP-SGD with ``(epsilon, delta)``-differential privacy.

    Fitted by :func:`optkit.privacy.private_logistic_regression`: Poisson-sampled minibatches, each
    example's gradient clipped to ``max_grad_norm``, Gaussian noise with the smallest multiplier that
    the RDP accountant allows for ``epochs`` passes within ``epsilon``; training stops before the
    spent budget would exceed ``epsilon``. The guarantee is about the training rows: preprocess the
    features with data-independent bounds (a scaler fitted on the same rows is not private).

    Parameters
    ----------
    epsilon : float > 0
    delta : float in (0, 1)
        Usually below ``1 / n_samples``.
    epochs : float
        Passes over the data the noise is calibrated for.
    batch_size : int
        Expected minibatch size (Poisson sampling rate ``batch_size / n_samples``).
    max_grad_norm : float
        Per-example clipping norm.
    lr : float
        DP-SGD step size.
    l2 : float
        l2 regularization.
    fit_intercept : bool
    random_state : int, RandomState or None

    Attributes
    ----------
    coef_ : ndarray (1, n_features)
    intercept_ : ndarray (1,)
    classes_ : ndarray (2,)
    epsilon_spent_ : float
        The privacy spent (RDP accountant), at most ``epsilon``.
    delta_ : float
    noise_multiplier_ : float

    Examples
    --------
    >>> import numpy as np
    >>> from optkit.sklearn import DPLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 3)); y = (X @ [1.0, -2.0, 0.5] > 0).astype(int)
    >>> clf = DPLogisticRegression(epsilon=1.0, delta=1e-5, random_state=0).fit(X, y)
    >>> bool(clf.epsilon_spent_ <= 1.0), bool(clf.score(X, y) > 0.9)
    (True, True)
    """

    _parameter_constraints: dict = {
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "delta": [Interval(numbers.Real, 0, 1, closed="neither")],
        "epochs": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_grad_norm": [Interval(numbers.Real, 0, None, closed="neither")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "l2": [Interval(numbers.Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, epsilon=1.0, delta=1e-5, *, epochs=20.0, batch_size=64, max_grad_norm=1.0, lr=0.5, l2=1e-4,
                 fit_intercept=True, random_state=None):
        self.epsilon = epsilon
        self.delta = delta
        self.epochs = epochs
        self.batch_size = batch_size
        self.max_grad_norm = max_grad_norm
        self.lr = lr
        self.l2 = l2
        self.fit_intercept = fit_intercept
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y):
        """Train with DP-SGD; ``epsilon_spent_`` is the budget used."""
        from optkit.privacy import private_logistic_regression

        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y")
        classes = np.unique(y)
        if y_type != "binary" or classes.size != 2:
            raise InvalidParameterError(
                f"DPLogisticRegression: Only binary classification is supported. The type of the target is {y_type} "
                f"with {classes.size} class(es); y must hold exactly 2 classes"
            )
        res = private_logistic_regression(X, y, epsilon=float(self.epsilon), delta=float(self.delta),
                                          epochs=float(self.epochs), batch_size=int(self.batch_size),
                                          max_grad_norm=float(self.max_grad_norm), lr=float(self.lr), l2=float(self.l2),
                                          fit_intercept=bool(self.fit_intercept), seed=_seed_from(self.random_state))
        self.classes_ = res.classes
        self.coef_ = np.asarray(res.coef, dtype=np.float64).reshape(1, -1)
        self.intercept_ = np.array([float(res.intercept)])
        self.epsilon_spent_, self.delta_ = float(res.epsilon), float(res.delta)
        self.noise_multiplier_ = float(res.noise_multiplier)
        return self

    def decision_function(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_[0] + self.intercept_[0]

    def predict(self, X):
        scores = self.decision_function(X)
        return self.classes_[(scores > 0).astype(int)]

    def predict_proba(self, X):
        from scipy.special import expit

        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

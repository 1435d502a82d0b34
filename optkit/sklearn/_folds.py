"""Cross-validation folds for a search that calls ``evaluate_candidates`` batch after batch.

:class:`FrozenFolds` draws the folds once and gives them to every batch (scikit-learn's
``BaseSearchCV`` calls ``cv.split`` per call, which reshuffles a randomized splitter);
:class:`SubsampledFolds` cuts each training fold to a fraction of it for successive halving over
``n_samples``, with nested subsets across fractions.
"""

from __future__ import annotations

import numpy as np


class FrozenFolds:
    """A splitter giving the folds of the first ``split`` call on every later call."""

    def __init__(self, cv):
        self.cv, self._folds = cv, None

    def split(self, X, y=None, **kw):
        if self._folds is None:
            self._folds = [(np.asarray(tr), np.asarray(te)) for tr, te in self.cv.split(X, y, **kw)]
        return iter(self._folds)

    def get_n_splits(self, X=None, y=None, **kw):
        return self.cv.get_n_splits(X, y, **kw)


class SubsampledFolds:
    """The folds of ``base`` with each training fold cut to ``fraction`` of it, nested across fractions
    (a fold's order is fixed per seed; a classifier's order interleaves the classes, so that every
    prefix keeps the class proportions). Test folds are kept whole."""

    def __init__(self, base: FrozenFolds, fraction: float, seed: int, stratify: bool):
        self.base, self.fraction, self.seed, self.stratify = base, fraction, seed, stratify
        self._orders: dict = {}

    def _order(self, k: int, train: np.ndarray, y) -> np.ndarray:
        if k not in self._orders:
            rng = np.random.default_rng([self.seed, k])
            if self.stratify and y is not None:
                _, codes = np.unique(np.asarray(y)[train], return_inverse=True)
                rank = np.empty(train.size)
                for c in np.unique(codes):
                    idx = np.flatnonzero(codes == c)
                    rank[rng.permutation(idx)] = (np.arange(idx.size) + rng.random()) / idx.size
                self._orders[k] = train[np.argsort(rank, kind="stable")]
            else:
                self._orders[k] = train[rng.permutation(train.size)]
        return self._orders[k]

    def split(self, X, y=None, **kw):
        for k, (train, test) in enumerate(self.base.split(X, y, **kw)):
            m = train.size if self.fraction >= 1 else max(1, int(round(self.fraction * train.size)))
            yield np.sort(self._order(k, train, y)[:m]), test

    def get_n_splits(self, X=None, y=None, **kw):
        return self.base.get_n_splits(X, y, **kw)

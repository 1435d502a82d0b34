"""Search spaces as scikit-learn users write them: the mapping to optkit dimensions and its errors."""

import numpy as np
import pytest
from scipy.stats import loguniform, norm, randint, uniform
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import optkit
from optkit.sklearn.spaces import check_parameter_names, to_search_space


def test_distributions_map_to_their_support_and_scale():
    space = to_search_space({
        "a": uniform(2, 3),            # [2, 5]
        "b": loguniform(1e-3, 1e2),
        "c": randint(1, 5),            # 1..4: scipy excludes high
        "d": randint(-3, 4, loc=10),   # shifted: 7..13
        "e": loguniform(1, 100, scale=10),  # scaled stays log-uniform: [10, 1000]
    })
    a, b, c, d, e = (space.params[k] for k in "abcde")
    assert isinstance(a, optkit.Real) and (a.low, a.high, a.log) == (2.0, 5.0, False)
    assert isinstance(b, optkit.Real) and b.log and np.isclose(b.low, 1e-3) and np.isclose(b.high, 1e2)
    assert isinstance(c, optkit.Integer) and (c.low, c.high) == (1, 4)
    assert isinstance(d, optkit.Integer) and (d.low, d.high) == (7, 13)
    assert e.log and np.isclose(e.low, 10) and np.isclose(e.high, 1000)


def test_lists_are_categories_and_values_keep_their_type():
    est = LogisticRegression()
    space = to_search_space({"C": np.array([0.1, 1.0, 10.0]), "max_iter": [50, 100], "solver": ["lbfgs", "saga"],
                             "class_weight": [None, "balanced"], "tol": (1e-4, 1e-3, 1e-4)})
    assert all(isinstance(p, optkit.Categorical) for p in space.params.values())
    assert space.params["tol"].choices == [1e-4, 1e-3]  # repeats dropped: a set of choices
    rng = np.random.default_rng(0)
    for x in space.sample(20, rng):
        p = space.to_dict(x)
        assert type(p["max_iter"]) is int and type(p["C"]) is float  # numpy scalars became Python ones
        assert p["solver"] in ("lbfgs", "saga") and p["class_weight"] in (None, "balanced")
        est.set_params(**p)
    ints = to_search_space({"n": randint(1, 10)})
    assert all(type(ints.to_dict(x)["n"]) is int for x in ints.sample(10, rng))


def test_estimators_as_categories_and_optkit_dimensions_pass_through():
    choices = [SVC(), LogisticRegression()]
    space = to_search_space({"clf": choices, "C": optkit.Real(0.1, 10, log=True)})
    assert space.params["clf"].choices == choices and space.params["C"].log
    ready = optkit.SearchSpace({"C": optkit.Integer(1, 3)})
    assert to_search_space(ready) is ready


@pytest.mark.parametrize("entry, words", [
    (randint(5, 5), "empty"),
    (uniform(1, 0), "empty"),
    (loguniform(1, 1), "empty"),
    ([], "empty list"),
    (norm(0, 1), "not supported"),
    (loguniform, "not a frozen distribution"),
    ("rbf", "expected"),
    (loguniform(1, 10, loc=-0.5), "not log-uniform"),
])
def test_bad_entries_raise_a_clear_error_naming_the_parameter(entry, words):
    with pytest.raises(optkit.InvalidParameterError, match=words) as info:
        to_search_space({"C": entry})
    assert "'C'" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_spaces():
    for bad in ({}, [{"C": [1]}, {"gamma": [1]}], "C", None):
        with pytest.raises(optkit.InvalidParameterError):
            to_search_space(bad)


def test_unknown_estimator_parameter_names_the_valid_ones():
    pipe = make_pipeline(StandardScaler(), SVC())
    check_parameter_names(to_search_space({"svc__C": [1.0, 2.0]}), pipe)
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'svc__gamma'") as info:
        check_parameter_names(to_search_space({"svc__gama": [1.0]}), pipe)
    assert "svc__kernel" in str(info.value) and isinstance(info.value, ValueError)


def test_folds_are_drawn_once_and_subsamples_are_nested_and_stratified():
    from sklearn.model_selection import KFold, StratifiedKFold

    from optkit.sklearn._folds import FrozenFolds, SubsampledFolds

    X = np.zeros((120, 1))
    y = np.repeat([0, 1, 2], [60, 40, 20])
    frozen = FrozenFolds(KFold(3, shuffle=True))  # no random_state: every split() call would reshuffle
    first = [te.tolist() for _, te in frozen.split(X, y)]
    assert [te.tolist() for _, te in frozen.split(X, y)] == first and frozen.get_n_splits() == 3
    base = FrozenFolds(StratifiedKFold(2))
    small, large = SubsampledFolds(base, 0.25, 0, True), SubsampledFolds(base, 0.5, 0, True)
    for (tr_s, te_s), (tr_l, te_l), (tr, te) in zip(small.split(X, y), large.split(X, y), base.split(X, y)):
        assert len(tr_s) == 15 and len(tr_l) == 30 and set(tr_s) <= set(tr_l) <= set(tr)
        assert np.array_equal(te_s, te) and np.array_equal(te_l, te)  # test folds stay whole
        np.testing.assert_allclose(np.bincount(y[tr_l], minlength=3) / 30, [0.5, 1 / 3, 1 / 6], atol=0.04)
    assert [t.tolist() for t, _ in small.split(X, y)] == [t.tolist() for t, _ in small.split(X, y)]

"""The gradient layer: transforms, the loop's budget and history, failures, state, composition."""

import numpy as np
import pytest
from lsq_tiny import lsq_grad

import optkit
from optkit.core import transforms as tx
from optkit.core.gradient import COMMON_CONSTRAINTS, GradientOptimizer
from optkit.core.serialize import dumps, loads


def _ctx(w, g, loss=1.0, step=0, seed=0, hvp=None):
    return tx.Context(w=np.asarray(w, float), grad=np.asarray(g, float), loss=loss, step=step,
                      rng=np.random.default_rng(seed), hvp=hvp)


def test_chain_threads_states_and_ends_with_an_increment():
    t = tx.chain(tx.trace(0.5), tx.scale_by_learning_rate(0.1))
    s = t.init(np.zeros(2))
    u, s = t.update(np.array([1.0, 2.0]), s, _ctx([0, 0], [1, 2]))
    np.testing.assert_allclose(u, [-0.1, -0.2])
    u, s = t.update(np.array([1.0, 0.0]), s, _ctx([0, 0], [1, 0]))
    np.testing.assert_allclose(u, [-0.15, -0.1])  # m = 0.5 (1, 2) + (1, 0)
    np.testing.assert_allclose(s["chain"][0]["m"], [1.5, 1.0])
    text, blob = dumps(s)
    assert loads(text, blob)["chain"][0]["m"].tolist() == [1.5, 1.0]
    sched = tx.scale_by_learning_rate(lambda k: 1.0 / (k + 1))
    np.testing.assert_allclose(sched.update(np.ones(2), {}, _ctx([0, 0], [1, 1], step=3))[0], [-0.25, -0.25])


def test_clipping_noise_and_per_example_pieces():
    u, _ = tx.clip_by_global_norm(1.0).update(np.array([3.0, 4.0]), {}, _ctx([0, 0], [3, 4]))
    np.testing.assert_allclose(u, [0.6, 0.8])
    U = np.array([[3.0, 4.0], [0.3, 0.4]])
    V, _ = tx.clip_per_example(1.0).update(U, {}, _ctx([0, 0], [0, 0]))
    np.testing.assert_allclose(V, [[0.6, 0.8], [0.3, 0.4]])
    np.testing.assert_allclose(tx.mean_of_examples().update(V, {}, None)[0], [0.45, 0.6])
    a = tx.add_gaussian_noise(0.5).update(np.zeros(3), {}, _ctx(np.zeros(3), np.zeros(3), seed=4))[0]
    np.testing.assert_allclose(a, 0.5 * np.random.default_rng(4).standard_normal(3))


def test_polyak_piece_guards():
    t = tx.scale_by_polyak(c=0.5)
    u, s = t.update(np.zeros(2), t.init(np.zeros(2)), _ctx([0, 0], [0, 0], loss=1.0))
    assert np.all(u == 0) and s["step_size"] == 0.0  # stationary minibatch: no step, no division by zero
    u, s = t.update(np.array([1.0, 0.0]), {}, _ctx([0, 0], [1, 0], loss=2.0))
    np.testing.assert_allclose(u, [-4.0, 0.0]) and s["step_size"] == 4.0


class _DPSGD(GradientOptimizer):
    """Composition as DP-SGD will use it: per-example gradients -> clip -> mean -> noise -> SGD."""

    _parameter_constraints = COMMON_CONSTRAINTS

    def __init__(self, space, *, batch_size=2, sampling="shuffle", seed=None):
        super().__init__(space, batch_size=batch_size, sampling=sampling, seed=seed)

    def _build(self):
        return tx.chain(tx.clip_per_example(0.5), tx.mean_of_examples(), tx.add_gaussian_noise(0.01),
                        tx.scale_by_learning_rate(0.1))

    def _oracle(self, problem, w, idx):
        G = problem.per_example_grads(w, idx)
        return problem.loss(w, idx), G.mean(axis=0), G

    def oracle_cost(self, b, step):
        return 2 * b


def test_a_composed_method_through_the_oracle_hook(tiny):
    opt = _DPSGD(tiny.space, batch_size=3, seed=1)
    res = opt.minimize(tiny, 6)
    assert res.nit == 1 and res.oracle_counts == {"loss": 3, "grad": 0, "hvp": 0, "per_example": 3}
    G = (np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]) @ np.array([1.0, -1.0]) - [1.0, -2.0, 0.5])[:, None] * \
        np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    clipped = G * np.minimum(1, 0.5 / np.linalg.norm(G, axis=1, keepdims=True))
    rng = np.random.default_rng(1)
    expected = np.array([1.0, -1.0]) - 0.1 * (clipped.mean(0) + 0.01 * rng.standard_normal(2))
    np.testing.assert_allclose(res.x, expected, rtol=1e-13)


def test_budget_shrinks_the_last_minibatch(tiny):
    res = optkit.make("sgd", tiny.space, batch_size=2, seed=0).minimize(tiny, 7)
    assert res.nit == 4 and res.nfev == 7 and tiny.calls == 7  # 2 + 2 + 2 + 1
    opt = optkit.make("psps", tiny.space, batch_size=2, init_samples=2, seed=0)
    res = opt.minimize(tiny, 13)  # first step 2 * (2 + 2) = 8, then 2 * 2 = 4, then 1 example costs 2 > 1 left
    assert res.nit == 2 and res.nfev == 12
    with pytest.raises(optkit.InvalidParameterError, match="'budget' must cover one step"):
        optkit.make("psps", tiny.space, seed=0).minimize(tiny, 5)


def test_history_result_and_continuation(tiny):
    opt = optkit.make("sgd", tiny.space, lr=0.1, batch_size=None)
    res = opt.minimize(tiny, 9)
    assert res.nit == 3 and res.nfev == 9 and res.epochs == 3.0
    W = res.history.X
    np.testing.assert_allclose(W[1], W[0] - 0.1 * lsq_grad(W[0]))
    np.testing.assert_allclose(res.history.fun, [tiny.objective(w) for w in W])  # full batch: the loss at each iterate
    np.testing.assert_allclose(res.x, W[2] - 0.1 * lsq_grad(W[2]))
    assert res.fun == tiny.objective(res.x) and res.success and res.status == optkit.Status.BUDGET_EXHAUSTED
    again = opt.minimize(tiny, 3)  # continues from where it stopped
    np.testing.assert_allclose(again.history.X[0], res.x)
    assert again.history.batch.tolist() == [3]


def test_nan_stops_with_the_iteration_named(tiny):
    blowup = optkit.make("sgd", tiny.space, lr=10.0, batch_size=None)
    with np.errstate(over="ignore", invalid="ignore"):
        res = blowup.minimize(tiny, 3000)
    assert res.status == optkit.Status.FAILED and not res.success
    assert "non-finite minibatch" in res.message and "iteration" in res.message
    k = int(res.message.split("iteration ")[1].split()[0])
    assert res.nit == k and np.all(np.isfinite(res.x))
    assert res.history.error[-1] == res.message and res.history.error[:-1] == [None] * k


def test_progress_bar_runs(tiny):
    pytest.importorskip("tqdm")
    res = optkit.make("adam", tiny.space, batch_size=1, seed=0).minimize(tiny, 20, progress=True)
    assert res.nfev == 20


def test_gradient_methods_are_registered_in_their_family():
    names = {"sgd", "adam", "adamw", "adagrad", "rmsprop", "lion", "sps", "psps"}
    assert names <= set(optkit.available())
    for n in names:
        assert issubclass(optkit.get(n), GradientOptimizer) and optkit.get(n).family == "first_order"


def test_non_convex_mlp_trains():
    """The MLP (exact HVP by the R-operator) under Adam, SPSmax and PSPS-Hutchinson: 3 epochs cut the
    cross-entropy from 2.52 (ln 10 plus the random init) to 0.05, 0.04 and 0.24 (measured)."""
    for name, kw in [("adam", {"lr": 0.01}), ("sps", {"gamma_max": 1.0}), ("psps", {})]:
        p = optkit.problems.get("mlp_digits")
        res = optkit.make(name, p.space, seed=0, **kw).minimize(p, 3 * p.n_examples)
        assert res.fun < 0.15 * p.objective(p.w0), (name, res.fun)


def test_oracle_counts_are_per_run_like_nfev():
    import optkit

    p = optkit.problems.get("least_squares", 5)
    opt = optkit.make("sgd", p.space, seed=0, lr=0.1)
    first = opt.minimize(p, budget=320)
    second = opt.minimize(p, budget=320)  # continues on the same problem object, whose counters keep the total
    for res in (first, second):
        assert sum(res.oracle_counts.values()) == res.nfev == 320

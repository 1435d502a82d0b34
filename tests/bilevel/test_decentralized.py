"""Decentralized bilevel: gossip matrices, one iteration by hand, consensus and solution, executors."""

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import optkit
from optkit.bilevel import BilevelProblem
from optkit.bilevel import problems as P
from optkit.bilevel.decentralized import GossipMatrixError, check_gossip, gossip_matrix


def test_topologies_give_metropolis_matrices():
    W = gossip_matrix("ring", 5)
    assert np.allclose(np.diag(W), 1 / 3) and np.allclose(W[0, [1, 4]], 1 / 3) and W[0, 2] == 0
    W = gossip_matrix("torus", 9)  # 3 x 3 with wrap-around: degree 4
    assert np.allclose(np.diag(W), 1 / 5) and np.all(np.count_nonzero(W, axis=1) == 5)
    W = gossip_matrix("torus", 4)  # 2 x 2: two distinct neighbours each
    assert np.all(np.count_nonzero(W, axis=1) == 3) and np.allclose(W[W > 0], 1 / 3)
    assert np.allclose(gossip_matrix("complete", 4), 0.25)
    W1, W2 = gossip_matrix("random", 12, edge_prob=0.3, seed=4), gossip_matrix("random", 12, edge_prob=0.3, seed=4)
    assert np.array_equal(W1, W2) and np.allclose(W1, W1.T)
    for W in (gossip_matrix(t, 6) for t in ("ring", "torus", "complete")):
        check_gossip(W)
    check_gossip(W1)
    with pytest.raises(optkit.InvalidParameterError, match="torus"):
        gossip_matrix("torus", 7)


@pytest.mark.parametrize("W,match", [
    ([[0.5, 0.5], [0.2, 0.8]], "column 0 sums to 0.7"),    # row-stochastic only
    ([[0.5, 0.6], [0.5, 0.4]], "row 0 sums to 1.1"),
    ([[1.5, -0.5], [-0.5, 1.5]], "non-negative"),
    ([[1.0, 0.0], [0.0, 1.0]], "does not mix"),              # two disconnected agents
    ([[0.0, 1.0], [1.0, 0.0]], "does not mix"),              # periodic: the agents swap forever
    ([[1.0, 0.0, 0.0]], "square"),
])
def test_bad_gossip_matrices_are_rejected(W, match):
    with pytest.raises(GossipMatrixError, match=match):
        check_gossip(W)
    with pytest.raises(optkit.OptkitError, match="gossip"):
        optkit.make("bilevel-decentralized", optkit.Box(-1, 1, dim=3), n_agents=len(W), gossip=W)


def test_gossip_size_must_match_the_agents():
    with pytest.raises(GossipMatrixError, match="n_agents=3"):
        optkit.make("bilevel-decentralized", optkit.Box(-1, 1, dim=3), n_agents=3, gossip=np.full((2, 2), 0.5))


def test_one_iteration_by_hand():
    toy = P.toy_quadratic(n=8)
    m = toy._f.__self__
    x0, y0 = np.array([0.3, -0.2, 0.5]), np.linspace(-1, 1, 5)
    p = BilevelProblem(m.f, m.g, m.grad_f, m.grad_g, x0=x0, y0=y0, lower_hvp=m.hvp, lower_jvp=m.jvp, n_upper=8, n_lower=8)
    a, b, g, beta = 0.1, 0.3, 0.2, 1.0
    opt = optkit.make("bilevel-decentralized", p.space, n_agents=2, lr=a, lr_inner=b, lr_z=g, inner_steps=1, solver_steps=1,
                      averaging=beta)
    res = opt.minimize(p, opt.step_cost(p))
    assert res.nit == 1
    W = np.full((2, 2), 0.5)  # the 2-agent ring
    shards = [np.arange(4), np.arange(4, 8)]
    A = [m.A_i[s].mean(0) for s in shards]
    B = [m.B_i[s].mean(0) for s in shards]
    t = [m.t_j[s].mean(0) for s in shards]
    X0, Y0 = np.tile(x0, (2, 1)), np.tile(y0, (2, 1))
    Y1 = W @ Y0 - b * np.array([A[k] @ Y0[k] - B[k] @ X0[k] for k in range(2)])
    Q = np.array([Y1[k] - t[k] for k in range(2)])
    Z1 = W @ np.zeros((2, 5)) - g * (0 - Q)
    U = np.array([m.rho * X0[k] + B[k].T @ Z1[k] for k in range(2)])
    X1 = W @ X0 - a * U
    np.testing.assert_allclose(res.agents_x, X1, rtol=1e-13)
    np.testing.assert_allclose(res.x, X1.mean(0), rtol=1e-13)
    np.testing.assert_allclose(res.y, Y1.mean(0), rtol=1e-13)
    assert res.nfev == 2 * (3 * 4 + 4) == opt.step_cost(p)


@pytest.mark.parametrize("topology", ["ring", "torus", "random"])
def test_agents_reach_consensus_and_the_solution(topology):
    p = P.toy_quadratic()
    opt = optkit.make("bilevel-decentralized", p.space, n_agents=4, topology=topology, lr=0.1, lr_inner=0.3, seed=0)
    res = opt.minimize(p, 200_000)
    assert res.consensus < 1e-20  # gradient tracking: exact consensus although the shards differ
    assert res.fun - p.f_opt < 1e-5
    assert np.linalg.norm(res.x - p.x_opt) < 1e-2 * np.linalg.norm(p.x_opt)


def test_without_tracking_agents_stay_in_a_neighbourhood_of_consensus():
    p = P.toy_quadratic()
    kw = dict(n_agents=4, lr_inner=0.3, seed=0, tracking=False)
    big = optkit.make("bilevel-decentralized", p.space, lr=0.1, **kw).minimize(p, 200_000)
    small = optkit.make("bilevel-decentralized", p.space, lr=0.025, **kw).minimize(p, 400_000)
    assert 1e-5 < big.consensus < 1e-2 and small.consensus < big.consensus / 8  # O(lr^2) in squared distance


def test_stochastic_agents_get_close():
    p = P.toy_quadratic()
    res = optkit.make("bilevel-decentralized", p.space, n_agents=4, lr=0.05, lr_inner=0.3, batch_size=4, upper_batch_size=4,
                      seed=0).minimize(p, 200_000)
    assert res.fun - p.f_opt < 0.1 * (p.upper_objective(p.x0) - p.f_opt)


def test_executors_give_the_same_run_and_counts():
    def run(executor):
        p = P.toy_quadratic()
        opt = optkit.make("bilevel-decentralized", p.space, n_agents=4, lr=0.1, lr_inner=0.3, batch_size=4,
                          upper_batch_size=4, seed=3)
        return opt.minimize(p, 3000, executor=executor), p

    serial, ps = run(None)
    with ThreadPoolExecutor(4) as ex:
        threaded, pt = run(ex)
    with ProcessPoolExecutor(2) as ex:  # the problem is pickled to the workers; counts come back with the results
        procs, pp = run(ex)
    for res, p in ((threaded, pt), (procs, pp)):
        assert np.array_equal(res.history.X, serial.history.X) and np.array_equal(res.agents_x, serial.agents_x)
        assert p.counts == ps.counts and res.nfev == serial.nfev
    with pytest.raises(optkit.InvalidParameterError, match="executor"):
        optkit.make("bilevel-implicit", ps.space).minimize(ps, 10_000, executor=ThreadPoolExecutor(1))

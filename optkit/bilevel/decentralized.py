"""Decentralized stochastic bilevel optimization (DSBO) after Chen, Huang, Ma & Balasubramanian,
"Decentralized Stochastic Bilevel Optimization with Improved per-Iteration Complexity" (ICML 2023; their
MA-DSBO: decentralized inner loops with HVP/JVP oracles and a moving average of the hypergradient).

``n`` agents on a communication graph each hold a shard of both levels' data, ``f_i`` and ``g_i``, and
jointly solve ``min_x (1/n) sum_i f_i(x, y*(x))``, ``y*(x) = argmin_y (1/n) sum_i g_i(x, y)``. Agents
exchange vectors only with their neighbours, through a doubly stochastic gossip matrix ``W``
(``X <- W X`` mixes the rows of the agents' stacked variables), and use only stochastic gradients,
Hessian-vector and Jacobian-vector products of their own data: no Hessian or Jacobian matrix is formed
or communicated, the point of the paper. Outer iteration ``k``, agent ``i`` (minibatches of its shard):

    y_i <- sum_j W_ij y_j - lr_inner d_y g_i(x_i, y_i)                        inner_steps times
    (p_i, q_i) = (d_x f_i, d_y f_i)(x_i, y_i)
    z_i <- sum_j W_ij z_j - lr_z (d^2_yy g_i(x_i, y_i) z_i - q_i)               solver_steps times (HVPs)
    u_i = p_i - d^2_xy g_i(x_i, y_i) z_i                                        (one JVP)
    r_i <- (1 - averaging) r_i + averaging u_i                                  (r_i = u_i at k = 0)
    s_i <- sum_j W_ij s_j + r_i - r_i^old                                        (s_i = r_i at k = 0)
    x_i <- proj(sum_j W_ij x_j - lr s_i)

The ``z`` loop is decentralized SGD on the quadratic ``1/2 z^T H z - q^T z`` whose solution is the
Hessian-inverse-vector product of the hypergradient; ``y`` and ``z`` are warm-started. The result's
``x`` is the agents' average, ``consensus`` the mean squared distance of the ``x_i`` to it. ``s_i``
tracks the network average of the ``r_i`` (gradient tracking, Nedic, Olshevsky & Shi 2017; DIGing):
with it the agents reach consensus at a constant ``lr`` although their shards differ; with
``tracking=False`` (``x_i <- proj(sum_j W_ij x_j - lr r_i)``, plain decentralized SGD) they settle in an
``O(lr)`` neighbourhood of consensus. The ``y`` and ``z`` loops are plain decentralized (stochastic)
gradient steps; they need ``lr_inner, lr_z < (1 + lambda_min(W)) / L_g`` (``lambda_min(W) = -1/3`` on a
ring of 4 or more agents with Metropolis weights).

Topologies (Metropolis-Hastings weights ``W_ij = 1/(1 + max(deg_i, deg_j))`` on the edges, so ``W`` is
symmetric and doubly stochastic): ``"ring"``, ``"torus"`` (an ``r x c`` grid with wrap-around,
``n = r c``, ``r, c >= 2``), ``"random"`` (Erdos-Renyi with ``edge_prob``, redrawn until connected),
``"complete"``; or ``gossip=W`` any doubly stochastic matrix with ``||W - 11^T/n||_2 < 1``. Agents are
simulated in one process, one round of local oracle calls at a time; ``minimize(..., executor=ex)``
runs each round's agents on a ``concurrent.futures`` executor (threads, or processes for a picklable
problem; every agent works on its own counting view of the problem, merged after the round, so the
run and the counts are the same as serially). Shards are contiguous ``numpy.array_split`` blocks.
"""

from __future__ import annotations

import numpy as np

from optkit.bilevel._base import COMMON_CONSTRAINTS, POSITIVE, BilevelOptimizer
from optkit.core.errors import InvalidParameterError
from optkit.core.params import BOOL, Interval, Options, Predicate
from optkit.core.registry import register
from optkit.core.stochastic import BatchSampler

TOPOLOGIES = ("ring", "torus", "random", "complete")


class GossipMatrixError(InvalidParameterError):
    """A gossip matrix that is not square, non-negative, doubly stochastic, or not mixing."""


def _metropolis(adj: np.ndarray) -> np.ndarray:
    deg = adj.sum(axis=1)
    W = np.where(adj, 1.0 / (1.0 + np.maximum(deg[:, None], deg[None, :])), 0.0)
    np.fill_diagonal(W, 0.0)
    np.fill_diagonal(W, 1.0 - W.sum(axis=1))
    return W


def _connected(adj: np.ndarray) -> bool:
    seen, todo = {0}, [0]
    while todo:
        i = todo.pop()
        for j in np.flatnonzero(adj[i]):
            if j not in seen:
                seen.add(int(j))
                todo.append(int(j))
    return len(seen) == adj.shape[0]


def gossip_matrix(topology: str, n: int, *, edge_prob: float = 0.5, seed=None) -> np.ndarray:
    """The Metropolis-Hastings gossip matrix of ``n`` agents on ``topology`` (see the module docstring)."""
    owner = "gossip_matrix"
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidParameterError(f"{owner}: 'n' must be a positive int; got {n!r}")
    if topology not in TOPOLOGIES:
        raise InvalidParameterError(f"{owner}: 'topology' must be one of {TOPOLOGIES}; got {topology!r}")
    adj = np.zeros((n, n), dtype=bool)
    idx = np.arange(n)
    if topology == "ring" and n > 1:
        adj[idx, (idx + 1) % n] = adj[(idx + 1) % n, idx] = True
    elif topology == "complete":
        adj[:] = True
    elif topology == "torus":
        r = max((k for k in range(2, int(np.sqrt(n)) + 1) if n % k == 0), default=None)
        if r is None:
            raise InvalidParameterError(f"{owner}: a torus needs n = r * c agents with r, c >= 2; got n={n}")
        c = n // r
        for i in range(n):
            a, b = divmod(i, c)
            for j in (((a + 1) % r) * c + b, a * c + (b + 1) % c):
                adj[i, j] = adj[j, i] = True
    elif topology == "random" and n > 1:
        if not 0 < edge_prob <= 1:
            raise InvalidParameterError(f"{owner}: 'edge_prob' must be in (0, 1]; got {edge_prob!r}")
        rng = np.random.default_rng(seed)
        for _ in range(1000):
            upper = np.triu(rng.random((n, n)) < edge_prob, 1)
            adj = upper | upper.T
            if _connected(adj):
                break
        else:
            raise InvalidParameterError(f"{owner}: no connected random graph on {n} agents with edge_prob={edge_prob!r} in "
                                        "1000 draws; raise 'edge_prob'")
    np.fill_diagonal(adj, False)
    return _metropolis(adj)


def check_gossip(W, n: int | None = None, *, owner: str = "check_gossip", tol: float = 1e-9) -> np.ndarray:
    """``W`` as a float array if it is a valid gossip matrix (square, finite, non-negative, rows and
    columns summing to 1, and mixing: ``||W - 11^T/n||_2 < 1``); :class:`GossipMatrixError` otherwise."""
    try:
        W = np.array(W, dtype=np.float64)
    except (TypeError, ValueError):
        raise GossipMatrixError(f"{owner}: 'gossip' must be a square matrix of numbers; got {W!r:.80}") from None
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.size == 0:
        raise GossipMatrixError(f"{owner}: 'gossip' must be a square (n, n) matrix; got shape {W.shape}")
    if n is not None and W.shape[0] != n:
        raise GossipMatrixError(f"{owner}: 'gossip' must be ({n}, {n}) for n_agents={n}; got shape {W.shape}")
    if not np.all(np.isfinite(W)) or W.min() < -tol:
        raise GossipMatrixError(f"{owner}: 'gossip' must have finite non-negative entries; its smallest is {float(W.min()):.6g}")
    for axis, what in ((1, "row"), (0, "column")):
        s = W.sum(axis=axis)
        bad = np.flatnonzero(np.abs(s - 1.0) > tol)
        if bad.size:
            raise GossipMatrixError(f"{owner}: 'gossip' must be doubly stochastic (every row and column summing to 1); "
                                    f"{what} {bad[0]} sums to {float(s[bad[0]]):.6g}")
    m = W.shape[0]
    gap = float(np.linalg.norm(W - np.full((m, m), 1.0 / m), 2)) if m > 1 else 0.0
    if gap >= 1.0 - tol:
        raise GossipMatrixError(f"{owner}: 'gossip' does not mix (||W - 11^T/n||_2 = {gap:.6g} >= 1): the graph is "
                                "disconnected or periodic, so the agents would never reach consensus")
    return W


def _agent_call(view, kind: str, x, y, v, idx):
    """One agent's local oracle call on its own counting view; returns (value, the view's counts)."""
    if kind == "grad_g":
        out = view.grad_g(x, y, idx)[1]
    elif kind == "grad_f":
        out = view.grad_f(x, y, idx)
    elif kind == "hvp":
        out = view.hvp(x, y, v, idx)
    else:
        out = view.jvp(x, y, v, idx)
    return out, view.counts


_MATRIX = Predicate(lambda v: np.asarray(v, dtype=np.float64).ndim == 2, "a square matrix (n_agents x n_agents)")


@register("bilevel-decentralized", family="bilevel")
class DecentralizedBilevel(BilevelOptimizer):
    """Decentralized stochastic bilevel optimization over ``n_agents`` (see the module docstring).

    Parameters
    ----------
    n_agents : int
        Number of agents (each gets a contiguous shard of both levels' examples).
    topology : {"ring", "torus", "random", "complete"}
        Communication graph (ignored when ``gossip`` is given).
    gossip : (n_agents, n_agents) array, optional
        A doubly stochastic mixing matrix (validated: :class:`GossipMatrixError` if not).
    edge_prob : float
        Edge probability of the ``"random"`` graph (drawn from ``seed``).
    lr, lr_inner, lr_z : float
        Steps of ``x``, of the lower loop and of the ``z`` loop (``lr_z=None``: ``lr_inner``).
    inner_steps, solver_steps : int
        Rounds of the ``y`` and ``z`` loops per outer iteration.
    averaging : float
        Weight of the new hypergradient estimate in the moving average ``r`` (1: no averaging).
    tracking : bool
        Track the network-average of ``r`` in the ``x`` update (gradient tracking; see the module docstring).
    batch_size, upper_batch_size : int or None
        Per-agent minibatch sizes (None: the agent's whole shard).
    """

    uses_executor = True
    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "n_agents": [Interval(int, 1, None)],
        "topology": [Options(TOPOLOGIES)],
        "gossip": [_MATRIX, None],
        "edge_prob": [Interval(float, 0, 1, closed="right")],
        "lr": [POSITIVE],
        "lr_inner": [POSITIVE],
        "lr_z": [POSITIVE, None],
        "inner_steps": [Interval(int, 1, None)],
        "solver_steps": [Interval(int, 1, None)],
        "averaging": [Interval(float, 0, 1, closed="right")],
        "tracking": [BOOL],
    }

    def __init__(self, space, *, n_agents: int = 4, topology: str = "ring", gossip=None, edge_prob: float = 0.5,
                 lr: float = 0.1, lr_inner: float = 0.1, lr_z: float | None = None, inner_steps: int = 5,
                 solver_steps: int = 5, averaging: float = 0.5, tracking: bool = True, batch_size: int | None = None,
                 upper_batch_size: int | None = None, sampling: str = "shuffle", seed=None):
        super().__init__(space, n_agents=n_agents, topology=topology, gossip=gossip, edge_prob=edge_prob, lr=lr,
                         lr_inner=lr_inner, lr_z=lr_z, inner_steps=inner_steps, solver_steps=solver_steps,
                         averaging=averaging, tracking=tracking, batch_size=batch_size, upper_batch_size=upper_batch_size,
                         sampling=sampling, seed=seed)
        if gossip is not None:
            self.W = check_gossip(gossip, n_agents, owner="DecentralizedBilevel")
        else:
            graph_seed = None if seed is None else np.random.SeedSequence(seed).spawn(1)[0]
            self.W = gossip_matrix(topology, n_agents, edge_prob=edge_prob, seed=graph_seed)
        self._X = self._Y = self._Z = self._R = None
        self._track: dict = {}
        self._agent_samplers: list | None = None
        self._agent_sampler_state: list | None = None

    # -- shards and batches --------------------------------------------------------------------
    def _shards(self, n: int) -> list[np.ndarray]:
        return np.array_split(np.arange(n), self.n_agents)

    def _check_problem(self, problem, owner: str) -> None:
        problem.require_second_order(owner)
        problem.require_strongly_convex(owner)
        for level, n, b in (("lower", problem.n_lower, self.batch_size), ("upper", problem.n_upper, self.upper_batch_size)):
            if n < self.n_agents:
                raise InvalidParameterError(f"{owner}: the {level} level has {n} examples, fewer than n_agents={self.n_agents}")
            smallest = n // self.n_agents
            if b is not None and b > smallest:
                arg = "batch_size" if level == "lower" else "upper_batch_size"
                raise InvalidParameterError(f"The {arg!r} of {type(self).__name__} is {b} but the smallest agent shard of the "
                                            f"{level} level has {smallest} examples; expected an int in [1, {smallest}]")

    def _per_agent(self, level: str, problem) -> int:
        n = problem.n_lower if level == "lower" else problem.n_upper
        b = self.batch_size if level == "lower" else self.upper_batch_size
        return -(-n // self.n_agents) if b is None else b

    def step_cost(self, problem) -> int:
        b, bu = self._per_agent("lower", problem), self._per_agent("upper", problem)
        return self.n_agents * ((self.inner_steps + self.solver_steps + 1) * b + bu)

    def _agent_batches(self, level: str, problem) -> list[np.ndarray]:
        out = []
        for i, shard in enumerate(self._shards(problem.n_lower if level == "lower" else problem.n_upper)):
            local = self._agent_samplers[i][level].next(self.rng)
            out.append(shard if local is None else shard[local])
        return out

    def _init_run(self, problem) -> None:
        n = self.n_agents
        self._X = np.tile(self._x, (n, 1))
        self._Y = np.tile(problem.y0, (n, 1))
        self._Z = np.zeros((n, problem.dim_lower))
        self._R = np.zeros((n, problem.dim))
        self._track = {}

    def _ensure_samplers(self, problem) -> None:
        if self._agent_samplers is not None:
            return
        low, up = self._shards(problem.n_lower), self._shards(problem.n_upper)
        self._agent_samplers = [
            {"lower": BatchSampler(low[i].size, self.batch_size, self.sampling, owner=type(self).__name__),
             "upper": BatchSampler(up[i].size, self.upper_batch_size, self.sampling, owner=type(self).__name__)}
            for i in range(self.n_agents)
        ]
        if self._agent_sampler_state is not None:
            for s, st in zip(self._agent_samplers, self._agent_sampler_state):
                s["lower"].load(st["lower"])
                s["upper"].load(st["upper"])

    # -- one round of local oracle calls -------------------------------------------------------
    def _round(self, problem, executor, kind: str, X, Y, V, batches) -> list:
        args = [(problem.view(), kind, X[i], Y[i], None if V is None else V[i], batches[i]) for i in range(self.n_agents)]
        if executor is None:
            results = [_agent_call(*a) for a in args]
        else:
            futures = [executor.submit(_agent_call, *a) for a in args]
            results = [f.result() for f in futures]
        for _, counts in results:
            problem.add_counts(counts)
        return [out for out, _ in results]

    def _step(self, problem, executor=None):
        self._ensure_samplers(problem)
        W, X, Y, Z = self.W, self._X, self._Y, self._Z
        for _ in range(self.inner_steps):
            G = np.array(self._round(problem, executor, "grad_g", X, Y, None, self._agent_batches("lower", problem)))
            Y = W @ Y - self.lr_inner * G
        grads = self._round(problem, executor, "grad_f", X, Y, None, self._agent_batches("upper", problem))
        P = np.array([gx for gx, _ in grads])
        Q = np.array([gy for _, gy in grads])
        lr_z = self.lr_inner if self.lr_z is None else self.lr_z
        for _ in range(self.solver_steps):
            HZ = np.array(self._round(problem, executor, "hvp", X, Y, Z, self._agent_batches("lower", problem)))
            Z = W @ Z - lr_z * (HZ - Q)
        JZ = np.array(self._round(problem, executor, "jvp", X, Y, Z, self._agent_batches("lower", problem)))
        U = P - JZ
        self._R = U if self._t == 0 else (1.0 - self.averaging) * self._R + self.averaging * U
        self._X = self._project(W @ X - self.lr * self._tracked("x", self._R))
        self._Y, self._Z = Y, Z
        self._x = self._X.mean(axis=0)
        self._y = Y.mean(axis=0)
        return U.mean(axis=0)

    def _tracked(self, var: str, G: np.ndarray) -> np.ndarray:
        """The direction of ``var``'s step: with tracking, ``s <- W s + G - G_prev`` (``s = G`` the first
        time), whose agents' average equals the average of the latest local directions; else ``G``. (Used for
        ``x``: tracking in the warm-started ``y`` and ``z`` loops too was less stable in our tests, diverging
        at ``lr_inner = 0.2`` on the toy, where the untracked loops are stable up to ~0.33.)"""
        if not self.tracking:
            return G
        s, prev = self._track.get(var, (None, None))
        s = G.copy() if s is None else self.W @ s + G - prev
        self._track[var] = (s, G.copy())
        return s

    def consensus_error(self) -> float:
        """Mean squared distance of the agents' ``x_i`` to their average."""
        return float(np.mean(np.sum((self._X - self._X.mean(axis=0)) ** 2, axis=1)))

    def result_extras(self) -> dict:
        return {"consensus": self.consensus_error(), "agents_x": self._X.copy()}

    def minimize(self, problem, budget: int, *, callback=None, progress: bool = False, journal=None, executor=None):
        try:
            return super().minimize(problem, budget, callback=callback, progress=progress, journal=journal, executor=executor)
        finally:
            if self._agent_samplers is not None:
                self._agent_sampler_state = [{"lower": s["lower"].state(), "upper": s["upper"].state()}
                                             for s in self._agent_samplers]
                self._agent_samplers = None

    def _method_state(self) -> dict:
        return {"X": self._X.copy(), "Y": self._Y.copy(), "Z": self._Z.copy(), "R": self._R.copy(), "W": self.W.copy(),
                "track": {k: [s.copy(), g.copy()] for k, (s, g) in self._track.items()},
                "samplers": self._agent_sampler_state}

    def _load_method_state(self, state: dict) -> None:
        self._X, self._Y = np.asarray(state["X"], dtype=np.float64), np.asarray(state["Y"], dtype=np.float64)
        self._Z, self._R = np.asarray(state["Z"], dtype=np.float64), np.asarray(state["R"], dtype=np.float64)
        self._track = {k: (np.asarray(s, dtype=np.float64), np.asarray(g, dtype=np.float64)) for k, (s, g) in state["track"].items()}
        self.W = check_gossip(state["W"], self.n_agents, owner="DecentralizedBilevel.load_state_dict")
        self._agent_sampler_state = state["samplers"]
        self._agent_samplers = None

"""Known answers for optkit's own CMA-ES (``cmaes``): one generation by hand, convergence on BBOB,
an optimum on the boundary, the IPOP/BIPOP schedules, the stopping rules, and state across a restart."""

from __future__ import annotations

import math

import numpy as np
import pytest

import optkit
from optkit.core.serialize import dumps, loads
from optkit.population.cmaes import CMAES, strategy_parameters
from optkit.problems import bbob


def _ellipsoid(x):
    return float(x[0] ** 2 + 10 * x[1] ** 2 + 100 * x[2] ** 2)


@pytest.mark.parametrize("lam", [6, 7])
def test_first_generation_by_hand(lam):
    """Mean, paths, step size and covariance after one generation, from the tutorial's formulas."""
    d, m0, s0 = 3, np.array([1.0, -2.0, 0.5]), 0.7
    box = optkit.Box(-100.0, 100.0, dim=d)  # equal widths: C starts as the identity; nothing clipped
    opt = CMAES(box, x0=m0, sigma0=s0, popsize=lam, seed=3)
    X = opt.ask()
    y = np.array([_ellipsoid(x) for x in X])
    opt.tell(X, y)

    # the tutorial (arXiv:1604.00772), table 1, written out independently
    mu = lam // 2
    raw = [math.log((lam + 1) / 2) - math.log(i) for i in range(1, lam + 1)]
    pos, neg = raw[:mu], [min(r, 0.0) for r in raw[mu:]]
    mueff = sum(pos) ** 2 / sum(p * p for p in pos)
    mueff_neg = sum(neg) ** 2 / sum(n * n for n in neg)
    c1 = 2 / ((d + 1.3) ** 2 + mueff)
    cmu = min(1 - c1, 2 * (0.25 + mueff + 1 / mueff - 2) / ((d + 2) ** 2 + mueff))
    alpha = min(1 + c1 / cmu, 1 + 2 * mueff_neg / (mueff + 2), (1 - c1 - cmu) / (d * cmu))
    w = [p / sum(pos) for p in pos] + [alpha * n / -sum(neg) for n in neg]
    cs = (mueff + 2) / (d + mueff + 5)
    ds = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (d + 1)) - 1) + cs
    cc = (4 + mueff / d) / (d + 4 + 2 * mueff / d)
    chi = math.sqrt(d) * (1 - 1 / (4 * d) + 1 / (21 * d * d))

    steps = [(x - m0) / s0 for x in X[np.argsort(y)]]
    yw = sum(w[i] * steps[i] for i in range(mu))
    mean = m0 + s0 * yw
    ps = math.sqrt(cs * (2 - cs) * mueff) * yw  # C = I, so C^{-1/2} y_w = y_w
    hs = np.linalg.norm(ps) / math.sqrt(1 - (1 - cs) ** 2) < (1.4 + 2 / (d + 1)) * chi
    pc = hs * math.sqrt(cc * (2 - cc) * mueff) * yw
    C = (1 + c1 * (1 - hs) * cc * (2 - cc) - c1 - cmu * sum(w)) * np.eye(d) + c1 * np.outer(pc, pc)
    for wi, s in zip(w, steps):
        wo = wi if wi >= 0 else wi * d / float(s @ s)
        C = C + cmu * wo * np.outer(s, s)
    sigma = s0 * math.exp(min(1.0, cs / ds * (np.linalg.norm(ps) / chi - 1)))

    assert np.allclose(opt.mean_, mean, rtol=1e-13, atol=1e-14)
    assert np.allclose(opt.ps_, ps, rtol=1e-12, atol=1e-14)
    assert np.allclose(opt.pc_, pc, rtol=1e-12, atol=1e-14)
    assert np.allclose(opt.C_, C, rtol=1e-12, atol=1e-14)
    assert opt.sigma_ == pytest.approx(sigma, rel=1e-13)
    assert sum(w) < 1  # the negative weights are there (active CMA)


def test_weights_match_pycma():
    """Same recombination weights as pycma's RecombinationWeights with the same c1 and c_mu."""
    cma = pytest.importorskip("cma")
    from cma.recombination_weights import RecombinationWeights

    for d, lam in [(10, 10), (5, 11), (40, 15)]:
        sp = strategy_parameters(d, lam, lam // 2)
        ref = RecombinationWeights(lam)
        ref.finalize_negative_weights(d, sp["c1"], sp["cmu"])
        assert np.allclose(sp["w"], np.asarray(ref), rtol=1e-12, atol=1e-15)
        assert sp["mu_eff"] == pytest.approx(ref.mueff, rel=1e-12)
    assert isinstance(cma.__version__, str)


def test_lazy_eigendecomposition_schedule():
    """B and D are recomputed only every 1/(10 d (c_1 + c_mu)) generations."""
    d = 100
    opt = CMAES(optkit.Box(-5, 5, dim=d), seed=0, sigma0=1.0)
    gap = 1.0 / (10 * d * (opt._sp["c1"] + opt._sp["cmu"]))
    assert 1 < gap < 2  # so every second generation
    seen = []
    for _ in range(6):
        X = opt.ask()
        opt.tell(X, np.sum(X**2, axis=1))
        seen.append(opt.last_eig_)
    assert seen == [0, 2, 2, 4, 4, 6]


def test_rotated_ellipsoid_to_1e_10():
    p = bbob(10, 10, 1)
    res = optkit.make("cmaes", p.space, seed=1).minimize(p, 6000)
    assert res.fun - p.f_opt <= 1e-10


@pytest.mark.parametrize("center", [np.full(5, 2.0), np.array([1.1, 0.3, -0.4, 0.1, -1.1])], ids=["corner", "face"])
def test_optimum_on_the_boundary(center):
    """A sphere centred outside [-1, 1]^5: its minimizer on the box is the projection of the centre."""
    x_star = np.clip(center, -1, 1)
    res = optkit.minimize(lambda x: float(np.sum((x - center) ** 2)), [(-1, 1)] * 5, method="cmaes", budget=5000,
                          seed=0, tolfun=0.0, tolfunhist=0.0)
    assert np.linalg.norm(res.x - x_star) <= 1e-8
    assert res.status == optkit.Status.CONVERGED


def test_ipop_doubles_the_population():
    box = optkit.Box(-1e6, 1e6, dim=10)  # a constant objective: each run ends by tolflatfitness
    opt = CMAES(box, x0=np.zeros(10), sigma0=1.0, restarts="ipop", max_restarts=3, seed=0)
    res = opt.minimize(optkit.Problem(lambda x: 1.0, box), 10_000)
    assert [r["popsize"] for r in opt.runs_] == [10, 20, 40, 80]
    assert [r["evals"] for r in opt.runs_] == [20, 40, 80, 160]
    assert all(r["stop"].startswith("tolflatfitness") for r in opt.runs_)
    assert res.status == optkit.Status.CONVERGED and "restarts exhausted" in res.message and res.nfev == 300


class _ScriptedRng:
    """A generator whose ``random(2)`` (BIPOP's two uniforms per small run) returns scripted values."""

    def __init__(self, seed, pairs):
        self._g = np.random.default_rng(seed)
        self._pairs = [np.array(p, dtype=float) for p in pairs]
        self.bit_generator = self._g.bit_generator

    def standard_normal(self, size):
        return self._g.standard_normal(size)

    def random(self, size=None):
        return self._pairs.pop(0) if size == 2 else self._g.random(size)


def test_bipop_schedule():
    """lam_s = floor(lam_def (lam_l / (2 lam_def))^(u^2)), sigma_s = sigma0 10^(-2 v), the regime with fewer
    evaluations goes next (the first run counts as large), large runs double lam."""
    box = optkit.Box(-1e6, 1e6, dim=10)
    opt = CMAES(box, x0=np.zeros(10), sigma0=1.0, restarts="bipop", max_restarts=2, seed=0)
    opt.rng = _ScriptedRng(0, [(0.5, 0.5), (1.0, 0.25), (0.0, 1.0), (0.8, 0.0), (0.5, 0.5), (1.0, 0.5), (0.3, 0.3)])
    res = opt.minimize(optkit.Problem(lambda x: 1.0, box), 10_000)
    # by hand, lam_def = 10, every run lasts 2 generations:
    # large 10 (large 20) | small 10 * 0.5^0.25 = 8.4 -> 8 (small 16) | small 10 * 0.5 = 5 (26)
    # | large 20 (60) | small 10 * 1^0 = 10 (46) | small 10 (66) | large 40 (140)
    # | small 10 * 2^0.25 = 11.9 -> 11 (88) | small 10 * 2 = 20 (128) | small 10 * 2^0.09 = 10.6 -> 10 (148)
    # | large: restarts exhausted
    assert [r["popsize"] for r in opt.runs_] == [10, 8, 5, 20, 10, 10, 40, 11, 20, 10]
    assert [r["regime"][0] for r in opt.runs_] == list("lsslsslsss")
    sig = [1.0, 10**-1.0, 10**-0.5, 1.0, 10**-2.0, 1.0, 1.0, 10**-1.0, 10**-1.0, 10**-0.6]
    assert np.allclose([r["sigma0"] for r in opt.runs_], sig, rtol=1e-12)
    assert res.nfev == 288 and "restarts exhausted" in res.message


def test_bipop_solves_rastrigin_where_a_single_run_fails():
    p = bbob(15, 5, 1)
    plain = optkit.make("cmaes", p.space, seed=3).minimize(p, 8000)
    bipop = optkit.make("cmaes", p.space, seed=3, restarts="bipop").minimize(p, 8000)
    assert plain.fun - p.f_opt > 1.0  # a local minimum
    assert bipop.fun - p.f_opt <= 1e-8


def test_tolx_fires_on_the_sphere():
    box = optkit.Box(-5, 5, dim=4)
    opt = CMAES(box, seed=2, tolx=1e-8, tolfun=0.0, tolfunhist=0.0)
    res = opt.minimize(optkit.Problem(lambda x: float(x @ x), box), 20_000)
    assert res.status == optkit.Status.CONVERGED and res.message.startswith("tolx")
    assert opt.stop_reason() == res.message
    assert np.all(opt.sigma_ * np.sqrt(np.diag(opt.C_)) < 1e-8) and np.all(opt.sigma_ * np.abs(opt.pc_) < 1e-8)


def test_condition_number_stop_on_a_degenerate_problem():
    """f depends on x_0 only: the covariance degenerates; the run stops with a message, no NaN."""
    box = optkit.Box(-1e3, 1e3, dim=4)
    opt = CMAES(box, x0=np.ones(4), sigma0=1.0, seed=0, tolx=0.0, tolfun=0.0, tolfunhist=0.0)
    res = opt.minimize(optkit.Problem(lambda x: float(x[0] ** 2), box), 50_000)
    assert res.message.startswith("tolconditioncov") and res.status == optkit.Status.CONVERGED
    assert np.isfinite(opt.sigma_) and np.all(np.isfinite(opt.C_)) and np.all(np.isfinite(opt.mean_))
    # without the condition limit the eigenvalue floor keeps everything finite until another rule stops
    opt = CMAES(box, x0=np.ones(4), sigma0=1.0, seed=0, tolx=0.0, tolfun=0.0, tolfunhist=0.0, tolconditioncov=1e300)
    res = opt.minimize(optkit.Problem(lambda x: float(x[0] ** 2), box), 20_000)
    assert res.status == optkit.Status.CONVERGED
    assert np.isfinite(opt.sigma_) and np.all(np.isfinite(opt.C_)) and np.all(np.isfinite(res.history.fun))


def test_state_round_trip_across_a_restart():
    """Saved while a generation of the ended run is still out: it is ignored by both copies."""
    box = optkit.Box(-1e6, 1e6, dim=3)

    def f(X):
        return [1.0] * len(X)  # constant: the first run ends after 2 generations

    a = CMAES(box, x0=np.zeros(3), sigma0=1.0, restarts="ipop", seed=5)
    X1 = a.ask()
    a.tell(X1, f(X1))
    X2 = a.ask()
    X3 = a.ask()  # asked ahead, from the first run
    a.tell(X2, f(X2))  # the first run ends: a restart with popsize 2 * 7
    assert len(a.runs_) == 2 and a.popsize_ == 14
    text, blob = dumps(a.state_dict())
    b = CMAES(box, x0=np.zeros(3), sigma0=1.0, restarts="ipop", seed=99)
    b.load_state_dict(loads(text, blob))
    for opt in (a, b):
        gen = opt.gen_
        opt.tell(X3, f(X3))  # the old run's generation: ignored
        assert opt.gen_ == gen and len(opt.runs_) == 2
    g = lambda X: np.sum((X - 3.0) ** 2, axis=1)  # noqa: E731
    for _ in range(4):
        Xa, Xb = a.ask(), b.ask()
        assert np.array_equal(Xa, Xb) and len(Xa) == 14
        a.tell(Xa, g(Xa))
        b.tell(Xb, g(Xb))
    assert np.array_equal(a.C_, b.C_) and a.sigma_ == b.sigma_


def test_generations_asked_ahead_are_used():
    """Two generations asked before either is told: both update the distribution (the second one's draws
    re-read through the current distribution); the search still converges, no NaN."""
    box = optkit.Box(-5, 5, dim=5)
    opt = CMAES(box, seed=0)
    for _ in range(60):
        X1, X2 = opt.ask(), opt.ask()
        opt.tell(X2, np.sum(X2**2, axis=1))  # told out of order
        opt.tell(X1, np.sum(X1**2, axis=1))
    assert opt.gen_ == 120 and np.all(np.isfinite(opt.C_))
    assert float(opt.mean_ @ opt.mean_) < 1e-4


@pytest.mark.parametrize("params, name", [({"popsize": 1}, "popsize"), ({"sigma0": 0.0}, "sigma0"),
                                          ({"sigma0": -1.0}, "sigma0"), ({"x0": [9.0, 0.0]}, "x0"),
                                          ({"mu": 7, "popsize": 6}, "mu"), ({"restarts": "lbfgs"}, "restarts"),
                                          ({"popsize_factor": 1.0}, "popsize_factor"),
                                          ({"tolconditioncov": 0.5}, "tolconditioncov")])
def test_bad_input_is_rejected(params, name):
    with pytest.raises(optkit.InvalidParameterError, match=repr(name)):
        CMAES(optkit.Box(-5, 5, dim=2), **params)


def test_device_cuda_needs_a_gpu_and_auto_stays_on_the_cpu_for_small_problems():
    from optkit_native._dispatch import cuda_available

    box = optkit.Box(-5, 5, dim=4)
    if not cuda_available():
        with pytest.raises(optkit.InvalidParameterError, match="device='cuda'"):
            optkit.make("cmaes", box, device="cuda")
    with pytest.raises(optkit.InvalidParameterError, match="device"):
        optkit.make("cmaes", box, device="gpu")
    assert not optkit.make("cmaes", box, device="auto")._on_gpu()


def test_device_cuda_samples_the_same_generations_under_the_simulator():
    import os
    import subprocess
    import sys
    import textwrap

    pytest.importorskip("numba")
    code = textwrap.dedent(
        """
        import numpy as np
        import optkit
        p = optkit.problems.bbob(10, dim=4, instance=1)
        runs = []
        for device in ("cpu", "cuda"):
            opt = optkit.make("cmaes", p.space, seed=3, device=device)
            assert opt._on_gpu() == (device == "cuda")
            runs.append(opt.minimize(p, 120).history.X)
        np.testing.assert_allclose(runs[1], runs[0], rtol=1e-9, atol=1e-12)
        print("ok")
        """
    )
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"

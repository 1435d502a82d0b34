"""SPSO-2011 (optkit.population.pso): operators checked by hand, a known optimum, bad input."""

import math

import numpy as np
import pytest
from scipy import stats

import optkit
from optkit.population.pso import (
    C_SPSO,
    PSO,
    W_SPSO,
    best_informants,
    random_links,
    sample_in_spheres,
    spso_centres,
)


def _sphere(x):
    return float(np.sum((np.asarray(x) - 0.25) ** 2))


def test_constants_are_clercs():
    assert W_SPSO == pytest.approx(0.7213475204)
    assert C_SPSO == pytest.approx(1.1931471806)


@pytest.mark.parametrize("how,power", [("radius", 1), ("volume", 7)])
def test_sphere_sample_inside_and_radius_law(how, power):
    rng = np.random.default_rng(3)
    n, d = 4000, 7
    centres = rng.normal(size=(n, d))
    radii = rng.uniform(0.1, 2.0, size=n)
    X = sample_in_spheres(rng, centres, radii, how)
    rel = np.linalg.norm(X - centres, axis=1) / radii
    assert np.all(rel <= 1.0 + 1e-12)
    # "radius": the distance is r U; "volume": uniform in the ball, so (distance / r)^d is U(0, 1)
    assert stats.kstest(rel**power, "uniform").pvalue > 1e-3
    other = 7 if power == 1 else 1
    assert stats.kstest(rel**other, "uniform").pvalue < 1e-6
    # the direction is uniform: unit vectors average to ~0
    unit = (X - centres) / np.linalg.norm(X - centres, axis=1)[:, None]
    assert np.abs(unit.mean(axis=0)).max() < 0.05


def test_centre_of_gravity_by_hand():
    x = np.array([[0.0, 0.0], [0.0, 0.0]])
    p = np.array([[3.0, 0.0], [3.0, 0.0]])
    lbest = np.array([[0.0, 3.0], [3.0, 0.0]])
    G = spso_centres(x, p, lbest, np.array([False, True]), 1.5)
    # three points x, x + c(p - x), x + c(l - x): (0,0), (4.5,0), (0,4.5) -> centre (1.5, 1.5)
    assert G[0] == pytest.approx([1.5, 1.5])
    # own best informant: centre of x and x + c(p - x) = (0,0), (4.5,0) -> (2.25, 0)
    assert G[1] == pytest.approx([2.25, 0.0])


def test_best_informants_by_hand():
    # links[j, i]: j informs i
    links = np.array([[1, 1, 0, 0], [0, 1, 0, 1], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=bool)
    f = np.array([5.0, 2.0, 1.0, 2.0])
    # 0 hears {0}; 1 hears {0, 1, 2} -> 2; 2 hears {2}; 3 hears {1, 3} -> tie at 2.0 -> itself
    assert best_informants(links, f).tolist() == [0, 2, 2, 3]


def test_random_links_shape():
    links = random_links(np.random.default_rng(0), 40, 3)
    assert links.shape == (40, 40) and np.all(np.diag(links))
    informs = links.sum(axis=1) - 1  # others each particle informs: at most K (draws with replacement)
    assert informs.max() <= 3 and informs.mean() > 2.5


def _primed(**kw):
    opt = PSO(optkit.Box(-1.0, 1.0, dim=2), popsize=2, seed=0, **kw)
    X = opt.ask()
    opt.tell(X, [1.0, 2.0])
    opt.x_ = np.array([[0.0, 0.0], [0.5, 0.5]])
    opt.v_ = np.array([[0.1, -0.2], [0.0, 0.0]])
    opt.p_ = np.array([[0.2, 0.0], [0.5, 0.5]])
    opt.fp_ = np.array([3.0, 1.0])
    opt.links_ = np.ones((2, 2), dtype=bool)
    return opt


def test_one_move_number_by_number():
    opt = _primed()
    twin = np.random.default_rng()
    twin.bit_generator.state = opt.rng.bit_generator.state
    Z = opt.ask()
    # particle 0: p = (0.2, 0), best informant 1 with l = (0.5, 0.5): G = c (p + l) / 3
    # particle 1: its own best informant, x = p: G = x, radius 0, so it moves by inertia only (v = 0)
    G0 = C_SPSO * np.array([0.7, 0.5]) / 3.0
    r0 = math.hypot(*G0)
    normal, u = twin.standard_normal((2, 2)), twin.random(2)
    x_prime = G0 + normal[0] / np.linalg.norm(normal[0]) * r0 * u[0]
    v0 = W_SPSO * np.array([0.1, -0.2]) + x_prime
    assert Z[0] == pytest.approx(v0, abs=1e-14)
    assert Z[1] == pytest.approx([0.5, 0.5], abs=1e-14)
    opt.tell(Z, [0.5, 5.0])
    assert opt.v_[0] == pytest.approx(v0, abs=1e-14)
    assert opt.p_[0] == pytest.approx(Z[0]) and opt.fp_[0] == 0.5  # improved: new personal best
    assert opt.p_[1] == pytest.approx([0.5, 0.5]) and opt.fp_[1] == 1.0


def test_confinement_clamps_and_reverses_half():
    opt = _primed()
    opt.v_ = np.array([[5.0, 0.0], [0.0, 0.0]])  # flies far past x = 1
    twin = np.random.default_rng()
    twin.bit_generator.state = opt.rng.bit_generator.state
    Z = opt.ask()
    assert Z[0, 0] == 1.0
    G0 = C_SPSO * np.array([0.7, 0.5]) / 3.0
    normal, u = twin.standard_normal((2, 2)), twin.random(2)
    x_prime = G0 + normal[0] / np.linalg.norm(normal[0]) * math.hypot(*G0) * u[0]
    v_raw = W_SPSO * np.array([5.0, 0.0]) + x_prime
    opt.tell(Z, [9.0, 9.0])
    assert opt.v_[0, 0] == pytest.approx(-0.5 * v_raw[0])
    assert opt.v_[0, 1] == pytest.approx(v_raw[1])


def test_topology_redrawn_only_without_improvement():
    opt = PSO(optkit.Box(-1.0, 1.0, dim=3), seed=1)
    X = opt.ask()
    opt.tell(X, [_sphere(x) for x in X])
    links = opt.links_
    X = opt.ask()
    opt.tell(X, np.full(len(X), 1e9))  # no improvement: new links
    assert opt.links_ is not links and not np.array_equal(opt.links_, links)
    links = opt.links_
    X = opt.ask()
    opt.tell(X, np.full(len(X), -1.0))  # improvement: same links
    assert opt.links_ is links


def test_sphere_d10_to_1e8_then_converged():
    res = optkit.minimize(_sphere, [(-5.0, 5.0)] * 10, method="pso", budget=30000, seed=2)
    assert res.fun < 1e-8
    assert res.status == optkit.Status.CONVERGED and res.nfev < 30000  # the swarm collapsed (tolx)


def test_x0_is_a_particle_and_region_respected():
    opt = PSO(optkit.Box(-5.0, 5.0, dim=3), x0=[1.0, 2.0, 3.0], sigma0=0.5, seed=0)
    X = opt.ask()
    assert X[0].tolist() == [1.0, 2.0, 3.0]
    assert np.all(np.abs(X - [1.0, 2.0, 3.0]) <= 1.0 + 1e-12)


@pytest.mark.parametrize(
    "kw,name",
    [({"n_informants": 0}, "n_informants"), ({"w": 1.5}, "w"), ({"c": 0.0}, "c"), ({"popsize": 1}, "popsize"),
     ({"sphere_sampling": "gauss"}, "sphere_sampling"), ({"tolx": -1.0}, "tolx")],
)
def test_bad_hyperparameters(kw, name):
    with pytest.raises(optkit.InvalidParameterError, match=repr(name)):
        PSO(optkit.Box(-1, 1, dim=2), **kw)


def test_bad_space_and_x0():
    with pytest.raises(optkit.InvalidParameterError, match="finite bounds"):
        PSO(optkit.Box(-np.inf, 1.0, dim=2))
    with pytest.raises(optkit.InvalidParameterError, match="x0"):
        PSO(optkit.Box(-1, 1, dim=2), x0=[0.0, 3.0])

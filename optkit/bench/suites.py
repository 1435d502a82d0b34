"""Benchmark suites: named grids of methods x BBOB functions x dimensions x seeds, and the helpers
that turn user-given method and function names into canonical ones.

A run with seed ``s`` uses BBOB instance ``s + 1`` (COCO's convention of one run per instance), so
different seeds see differently shifted and rotated versions of the same function.

Examples
--------
>>> suite = get_suite("quick")
>>> suite.functions, suite.dims, suite.seeds
((1, 8, 15), (2, 5), (0, 1, 2))
>>> suite.budget(5)
1000
>>> resolve_functions(["sphere", "8"])
[1, 8]
>>> resolve_methods(["CMA", "random"])
['pycma', 'random']
"""

from __future__ import annotations

from dataclasses import dataclass

from optkit.bench.peers import BO_PEERS, DEFAULT_PEERS, check_available, is_peer, resolve_peer
from optkit.core.errors import InvalidParameterError, UnknownNameError, suggest

#: COCO's BBOB function numbers and short names (as in :mod:`optkit.problems.bbob`, which this
#: module does not import so that argument checking stays fast)
BBOB_NAMES: dict[int, str] = {
    1: "sphere", 2: "ellipsoid_separable", 3: "rastrigin_separable", 4: "bueche_rastrigin",
    5: "linear_slope", 6: "attractive_sector", 7: "step_ellipsoid", 8: "rosenbrock",
    9: "rosenbrock_rotated", 10: "ellipsoid", 11: "discus", 12: "bent_cigar", 13: "sharp_ridge",
    14: "different_powers", 15: "rastrigin", 16: "weierstrass", 17: "schaffers_f7",
    18: "schaffers_f7_ill_conditioned", 19: "griewank_rosenbrock", 20: "schwefel",
    21: "gallagher_101_peaks", 22: "gallagher_21_peaks", 23: "katsuura", 24: "lunacek_bi_rastrigin",
}

#: the precision ``f - f_opt`` a run must reach to count as a success, unless told otherwise
DEFAULT_TARGETS: tuple[float, ...] = (1e-8,)


@dataclass(frozen=True)
class Suite:
    """A named benchmark grid.

    Parameters
    ----------
    name : str
    description : str
        One line for ``optkit bench --help`` and the bench record.
    functions : tuple of int
        BBOB function numbers (1..24).
    dims : tuple of int
    seeds : tuple of int
        Seed ``s`` runs on BBOB instance ``s + 1``.
    budget_per_dim : int
        Evaluations per run are ``budget_per_dim * dim``.
    methods : tuple of str, optional
        Registry names; when empty, every registered method of ``families``.
    families : tuple of str
        Used only when ``methods`` is empty.
    problems : tuple of str
        :mod:`optkit.problems` names run instead of BBOB functions (``functions`` is then empty); a
        dimension-free problem runs in each of ``dims``, the others in their own dimension.
    targets : tuple of float
        The default target precisions ``f - f_opt``.
    peers : tuple of str
        The peers ``optkit bench --peers`` adds (see :mod:`optkit.bench.peers`).
    """

    name: str
    description: str
    functions: tuple[int, ...]
    dims: tuple[int, ...]
    seeds: tuple[int, ...]
    budget_per_dim: int
    methods: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    targets: tuple[float, ...] = DEFAULT_TARGETS
    peers: tuple[str, ...] = DEFAULT_PEERS

    def method_names(self) -> list[str]:
        """The suite's methods: its own list, or every registered method of its families (sorted)."""
        if self.methods:
            return list(self.methods)
        from optkit.core.registry import available, get

        names = []
        for n in available():
            try:
                family = get(n).family
            except ImportError:  # a family whose optional dependency is missing is left out
                continue
            if family in self.families:
                names.append(n)
        return names

    def budget(self, dim: int) -> int:
        """Evaluations per run in dimension ``dim``."""
        return self.budget_per_dim * dim


SUITES: dict[str, Suite] = {
    "quick": Suite(
        name="quick",
        description="6 methods x BBOB f1, f8, f15 x dims 2, 5 x 3 seeds, 200*dim evaluations (well under a minute)",
        methods=("random", "nelder-mead", "cmaes", "pycma", "shade", "pso"),
        functions=(1, 8, 15),
        dims=(2, 5),
        seeds=(0, 1, 2),
        budget_per_dim=200,
    ),
    "standard": Suite(
        name="standard",
        description="every sampling/local/population method x all 24 BBOB functions x dims 2, 5, 10, 20 x 5 seeds, "
        "1000*dim evaluations (long-running: hours on a laptop; use --jobs)",
        families=("sampling", "local", "population"),
        functions=tuple(range(1, 25)),
        dims=(2, 5, 10, 20),
        seeds=(0, 1, 2, 3, 4),
        budget_per_dim=1000,
    ),
    "bbob": Suite(
        name="bbob",
        description="COCO's bbob suite: every population method x the 24 functions x dims 2, 3, 5, 10, 20, 40 x 15 "
        "instances, 1000*dim evaluations (days on a laptop: narrow it with --methods/--functions/--dims/--seeds)",
        families=("population",),
        functions=tuple(range(1, 25)),
        dims=(2, 3, 5, 10, 20, 40),
        seeds=tuple(range(15)),
        budget_per_dim=1000,
    ),
    "classic": Suite(
        name="classic",
        description="sampling/local/population methods x the 15 classical functions of optkit.problems (dimension-free "
        "ones in d 2, 10) x 5 seeds, 1000*dim evaluations",
        families=("sampling", "local", "population"),
        functions=(),
        problems=("sphere", "ellipsoid", "rosenbrock", "rastrigin", "ackley", "griewank", "levy", "schwefel",
                  "styblinski_tang", "michalewicz", "branin", "hartmann3", "hartmann6", "six_hump_camel", "goldstein_price"),
        dims=(2, 10),
        seeds=(0, 1, 2, 3, 4),
        budget_per_dim=1000,
    ),
    "constrained": Suite(
        name="constrained",
        description="population methods x the 6 constrained engineering problems (d 2..7, published optima) x 5 seeds, "
        "1000*dim evaluations, targets 1e-2, 1e-4, 1e-6",
        families=("population",),
        functions=(),
        problems=("gardner", "gramacy", "pressure_vessel", "spring", "welded_beam", "speed_reducer"),
        dims=(),
        seeds=(0, 1, 2, 3, 4),
        budget_per_dim=1000,
        targets=(1e-2, 1e-4, 1e-6),
    ),
    "bo": Suite(
        name="bo",
        description="expensive-budget problems for Bayesian optimization: Branin, six-hump camel, Goldstein-Price, "
        "Hartmann 3 and 6, Ackley in d 4 x 5 seeds, 20*dim evaluations, targets 1e-1, 1e-2, 1e-3",
        methods=("random", "sobol", "bo"),
        functions=(),
        problems=("branin", "six_hump_camel", "goldstein_price", "hartmann3", "hartmann6", "ackley"),
        dims=(4,),
        seeds=(0, 1, 2, 3, 4),
        budget_per_dim=20,
        targets=(1e-1, 1e-2, 1e-3),
        peers=BO_PEERS,
    ),
    "ml": Suite(
        name="ml",
        description="gradient methods x the finite-sum problems of optkit.problems.ml (logistic regression on breast "
        "cancer, softmax on digits, least squares well and ill conditioned) x 3 seeds, budget 500*dim oracle calls "
        "(examples through a gradient), targets 1e-2, 1e-4, 1e-6",
        families=("first_order",),
        functions=(),
        problems=("logreg_breast_cancer", "softmax_digits", "least_squares", "least_squares_illcond"),
        dims=(),
        seeds=(0, 1, 2),
        budget_per_dim=500,
        targets=(1e-2, 1e-4, 1e-6),
    ),
    "highdim": Suite(
        name="highdim",
        description="large-scale evolution strategies x sphere, ellipsoid, rosenbrock in d 100, 300, 1000 x 3 seeds, "
        "100*dim evaluations, targets 1, 1e-3, 1e-8",
        methods=("sep-cmaes", "lmmaes", "mmes", "snes"),
        functions=(),
        problems=("sphere", "ellipsoid", "rosenbrock"),
        dims=(100, 300, 1000),
        seeds=(0, 1, 2),
        budget_per_dim=100,
        targets=(1.0, 1e-3, 1e-8),
        peers=("peer:pypop7:LMMAES", "peer:pypop7:SEPCMAES", "peer:pypop7:MMES"),
    ),
}


def get_suite(name: str) -> Suite:
    """The suite called ``name``; an :class:`~optkit.UnknownNameError` suggesting close names otherwise."""
    key = str(name).strip().lower()
    if key not in SUITES:
        raise UnknownNameError(f"unknown suite {name!r}.{suggest(key, SUITES)} Known suites: {', '.join(SUITES)}")
    return SUITES[key]


def instance_for_seed(seed: int) -> int:
    """The BBOB instance that seed ``seed`` runs on: ``seed + 1``."""
    return int(seed) + 1


def resolve_methods(names) -> list[str]:
    """Canonical registry names for ``names`` (aliases and case forgiven), in order, without repeats.

    Peers (``peer:...``, see :mod:`optkit.bench.peers`) are resolved to their canonical names too.
    Raises :class:`~optkit.UnknownNameError` (with close names suggested) for a name the registry
    (or the peer table) does not know, and :class:`~optkit.bench.peers.PeerUnavailableError`
    (naming the extra to install) for a peer whose package is missing.
    """
    from optkit.core.registry import get

    out: list[str] = []
    for n in names:
        if is_peer(n):
            canonical = resolve_peer(n)
            check_available([canonical])
        else:
            canonical = get(n).name or str(n).strip().lower()
        if canonical not in out:
            out.append(canonical)
    if not out:
        raise InvalidParameterError("bench: no methods given")
    return out


def resolve_functions(items) -> list[int]:
    """BBOB function numbers for ``items``: numbers 1..24 (int or str) or names such as ``"rastrigin"``.

    Raises :class:`~optkit.UnknownNameError` (with close names suggested) for an unknown name, and
    :class:`~optkit.InvalidParameterError` for a number outside 1..24.
    """
    by_name = {v: k for k, v in BBOB_NAMES.items()}
    out: list[int] = []
    for item in items:
        text = str(item).strip().lower()
        if text.lstrip("f").isdigit():
            f = int(text.lstrip("f"))
            if f not in BBOB_NAMES:
                raise InvalidParameterError(f"unknown BBOB function {item!r}: function numbers are 1..24")
        else:
            key = text.replace("-", "_").replace(" ", "_")
            if key not in by_name:
                raise UnknownNameError(
                    f"unknown BBOB function {item!r}.{suggest(key, by_name)} Give numbers 1..24 or names: {', '.join(by_name)}"
                )
            f = by_name[key]
        if f not in out:
            out.append(f)
    if not out:
        raise InvalidParameterError("bench: no functions given")
    return out


def resolve_problems(items, suite: Suite | None = None) -> list[str]:
    """:mod:`optkit.problems` names for ``items`` (case and ``-``/``_`` forgiven), in order, without repeats.

    With ``suite``, only its problems are accepted. Raises :class:`~optkit.UnknownNameError` with
    close names suggested otherwise.
    """
    from optkit.bench.problems import optkit_problem_names

    allowed = list(suite.problems) if suite is not None and suite.problems else optkit_problem_names()
    out: list[str] = []
    for item in items:
        key = str(item).strip().lower().replace("-", "_").replace(" ", "_")
        if key not in allowed:
            where = f"in suite {suite.name!r}" if suite is not None and suite.problems else "in optkit.problems"
            raise UnknownNameError(f"unknown problem {item!r} {where}.{suggest(key, allowed)} Known: {', '.join(allowed)}")
        if key not in out:
            out.append(key)
    if not out:
        raise InvalidParameterError("bench: no problems given")
    return out



# --------------------------------------------------------------------------------------------
# a whole bench from a suite, the user's problems and a config file


@dataclass
class BenchPlan:
    """The cells of one ``optkit bench`` invocation and how to describe them.

    ``failed`` maps the name of a user problem that could not be loaded to its error (its cells are
    planned all the same and become FAILED rows); ``config`` is what the results store records.
    """

    suite: str
    methods: list
    specs: list
    summary: str
    config: dict
    failed: dict


def _budget_args(budget, budget_per_dim, cfg: dict, base: Suite) -> dict:
    if budget is not None or budget_per_dim is not None:
        return {"budget": budget} if budget is not None else {"budget_per_dim": budget_per_dim}
    if "budget" in cfg and "budget_per_dim" in cfg:
        raise InvalidParameterError("config: give at most one of 'budget' and 'budget_per_dim'")
    if "budget" in cfg:
        return {"budget": cfg["budget"]}
    return {"budget_per_dim": cfg.get("budget_per_dim", base.budget_per_dim)}


def _peer_names(peers, base: Suite) -> list[str]:
    """``peers``: None (none), True / ``"default"`` (the suite's peers) or a list of names."""
    if peers is None or peers is False:
        return []
    if peers is True or peers == "default":
        return list(base.peers)
    return [resolve_peer(p) for p in ([peers] if isinstance(peers, str) else peers)]


def make_plan(*, suite=None, methods=None, functions=None, dims=None, seeds=None, budget=None, budget_per_dim=None,
              targets=None, problems=(), config=None, peers=None, peer_timeout=None) -> BenchPlan:
    """Plan a bench from command-line values, a config file and suite defaults (in that precedence).

    Parameters
    ----------
    suite : str, optional
        A suite name; by default ``quick``, or none at all when user problems are given.
    methods, functions, dims, seeds, targets : lists, optional
        Override the suite's; ``functions`` selects BBOB functions, or problems of a problem suite.
    budget, budget_per_dim : int, optional
    problems : sequence of str or (str, bounds)
        ``--problem`` values: :mod:`optkit.problems` names or ``module:name`` targets, each with the
        ``--bounds`` text that followed it (for a plain function) or None.
    config : str or Path, optional
        A config file (:func:`optkit.bench.problems.load_config`).
    peers : None, True, "default" or list of str
        Peers to add to the methods (True: the suite's default peers).
    peer_timeout : float, optional
        Seconds allowed to each peer cell.
    """
    from dataclasses import replace

    from optkit.bench.problems import ProblemRef, load_config, parse_problem, plan_problems
    from optkit.bench.runner import plan

    cfg = load_config(config) if config is not None else {}

    def pick(key, value):
        return value if value is not None else cfg.get(key)

    pairs = [(p, None) if isinstance(p, str) else tuple(p) for p in problems]
    refs = [parse_problem(p, bounds=b) for p, b in pairs] + list(cfg.get("problems") or [])
    suite_name = pick("suite", suite)
    if suite_name is None and (not refs or pick("functions", functions) is not None):
        suite_name = "quick"
    the_suite = get_suite(suite_name) if suite_name is not None else None
    base = the_suite or SUITES["quick"]
    names = list(pick("methods", methods) or base.method_names())
    names += [p for p in _peer_names(pick("peers", peers), base) if p not in names]
    method_list = resolve_methods(names)
    seed_list = list(pick("seeds", seeds) or base.seeds)
    target_list = list(pick("targets", targets) or base.targets)
    dim_list = pick("dims", dims)
    timeout = pick("peer_timeout", peer_timeout)
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0):
        raise InvalidParameterError(f"'peer_timeout' must be a number of seconds > 0; got {timeout!r}")
    bkw = _budget_args(budget, budget_per_dim, cfg, base)
    specs, failed, parts = [], {}, []
    fn_items = pick("functions", functions)
    if the_suite is not None and the_suite.problems:
        chosen = resolve_problems(fn_items, the_suite) if fn_items is not None else list(the_suite.problems)
        planned = plan_problems(method_list, [ProblemRef("optkit", n) for n in chosen], dim_list or the_suite.dims,
                                seed_list, targets=target_list, suite=the_suite.name, timeout=timeout, **bkw)
        specs += planned.specs
        parts.append(f"{len(chosen)} problems")
    elif the_suite is not None:
        fns = resolve_functions(fn_items if fn_items is not None else the_suite.functions)
        cells = plan(method_list, fns, dim_list or the_suite.dims, seed_list, targets=target_list, suite=the_suite.name, **bkw)
        specs += [replace(c, timeout=timeout) for c in cells] if timeout is not None else cells
        parts.append(f"{len(fns)} functions x {len(dim_list or the_suite.dims)} dims")
    if refs:
        planned = plan_problems(method_list, refs, dim_list or base.dims, seed_list, targets=target_list, suite="user",
                                timeout=timeout, **bkw)
        specs += planned.specs
        failed.update(planned.failed)
        parts.append(f"{len(refs)} user problem{'s' if len(refs) > 1 else ''}")
    budget_text = f"{bkw['budget']}" if "budget" in bkw else f"{bkw['budget_per_dim']}*dim"
    label = the_suite.name if the_suite is not None else "user"
    summary = (f"suite {label}: {len(method_list)} methods x {' + '.join(parts)} x {len(seed_list)} seeds = {len(specs)} "
               f"runs; budget {budget_text}; target f - f_opt <= {min(target_list):g}")
    record = {"methods": method_list, "functions": fn_items, "dims": dim_list, "seeds": seed_list, "targets": target_list,
              "problems": [r.to_json() for r in refs], "peer_timeout": timeout,
              "config_file": None if config is None else str(config), **bkw}
    return BenchPlan(label, method_list, specs, summary, record, failed)


__all__ = ["BBOB_NAMES", "DEFAULT_TARGETS", "SUITES", "BenchPlan", "Suite", "get_suite", "instance_for_seed", "make_plan",
           "resolve_functions", "resolve_methods", "resolve_problems"]

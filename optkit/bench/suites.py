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
    """

    name: str
    description: str
    functions: tuple[int, ...]
    dims: tuple[int, ...]
    seeds: tuple[int, ...]
    budget_per_dim: int
    methods: tuple[str, ...] = ()
    families: tuple[str, ...] = ()

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
        description="4 methods x BBOB f1, f8, f15 x dims 2, 5 x 3 seeds, 200*dim evaluations (well under a minute)",
        methods=("random", "sobol", "nelder-mead", "pycma"),
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

    Raises :class:`~optkit.UnknownNameError` (with close names suggested) for a name the registry
    does not know.
    """
    from optkit.core.registry import get

    out: list[str] = []
    for n in names:
        cls = get(n)
        canonical = cls.name or str(n).strip().lower()
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


__all__ = ["BBOB_NAMES", "DEFAULT_TARGETS", "SUITES", "Suite", "get_suite", "instance_for_seed", "resolve_functions",
           "resolve_methods"]

"""Benchmark problems that are not BBOB functions: optkit's named test problems and the user's own.

A :class:`ProblemRef` names a problem without holding it, so a cell can travel to a worker process
(or a peer's subprocess) and build its problem there:

* ``ProblemRef("optkit", "rosenbrock")``: a problem of :mod:`optkit.problems` (classical or
  constrained); the dimension-free ones run in every requested dimension, the others in their own.
* ``ProblemRef("user", "mymodule:myproblem")`` (or ``"path/to/file.py:myproblem"``): an
  :class:`optkit.Problem`, a factory returning one (called with ``dim=d`` when it has a ``dim``
  parameter, else with no argument), or, with ``bounds``, a plain function ``f(x) -> float``.

:func:`plan_problems` expands methods x problems x dims x seeds into :class:`~optkit.bench.runner.RunSpec`
cells; :func:`load_config` reads a TOML (or, with PyYAML, YAML) file naming problems, methods,
budgets and seeds.

Examples
--------
>>> ref = parse_problem("rosenbrock")
>>> ref.kind, ref.name, ref.fixed_dim()
('optkit', 'rosenbrock', None)
>>> parse_problem("branin").fixed_dim()
2
>>> p = ref.build(3)
>>> p.dim, p.f_opt
(3, 0.0)
>>> parse_bounds("-5:5,0:1")
((-5.0, 5.0), (0.0, 1.0))
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import math
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from optkit.core.errors import InvalidParameterError, OptkitError, UnknownNameError, suggest


class ProblemLoadError(OptkitError, ImportError):
    """A user problem whose module cannot be imported or whose object is not a problem.

    ``details`` holds the full traceback of the import error (empty when there was none).
    """

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class ProblemRef:
    """A problem by name, to be built where the cell runs.

    Parameters
    ----------
    kind : {"optkit", "user"}
    target : str
        An :mod:`optkit.problems` name, or ``"module:attr"`` / ``"file.py:attr"``.
    bounds : tuple of (low, high), optional
        For a plain function: one pair (every coordinate; the dimensions come from ``dims``) or one
        pair per coordinate.
    f_opt : float, optional
        The known optimum (overrides the problem's own), needed for gaps and targets.
    label : str, optional
        The name shown in the tables (``target`` by default).
    path : str, optional
        A directory put on ``sys.path`` before importing a module target (the working directory of
        the command that named it).
    dims : tuple of int, optional
        Dimensions to run a dimension-free problem in (overrides the bench's dims).
    """

    kind: str
    target: str
    bounds: tuple[tuple[float, float], ...] | None = None
    f_opt: float | None = None
    label: str | None = None
    path: str | None = None
    dims: tuple[int, ...] | None = None

    @property
    def name(self) -> str:
        return self.label or self.target

    def fixed_dim(self) -> int | None:
        """The problem's own dimension, or None when it runs in any requested dimension.

        Loads a user problem (raising :class:`ProblemLoadError` when it cannot be loaded).
        """
        if self.kind == "optkit":
            from optkit.problems.classical import KERNEL_NAMES

            if self.target in KERNEL_NAMES:
                return None
            return _optkit_factory(self.target)(None).dim
        obj = load_target(self.target, self.path)  # also when bounded: an import error shows at planning
        if self.bounds is not None:
            return None if len(self.bounds) == 1 else len(self.bounds)
        if _is_problem(obj):
            return obj.dim
        if "dim" in _parameters(obj):
            return None
        return self._from_factory(obj, None).dim

    def build(self, dim: int | None = None):
        """The :class:`optkit.Problem` in ``dim`` dimensions (ignored by fixed-dimension problems)."""
        if self.kind == "optkit":
            from optkit.problems.classical import KERNEL_NAMES

            problem = _optkit_factory(self.target)(dim if self.target in KERNEL_NAMES else None)
        else:
            problem = self._build_user(dim)
        if self.f_opt is not None:
            problem.f_opt = float(self.f_opt)
        return problem

    def _build_user(self, dim: int | None):
        import numpy as np

        from optkit.core.problem import Problem
        from optkit.core.space import Box

        obj = load_target(self.target, self.path)
        if self.bounds is not None:
            if _is_problem(obj):
                raise ProblemLoadError(f"problem {self.target!r} is an optkit.Problem with its own space: drop its bounds")
            if not callable(obj):
                raise ProblemLoadError(f"problem {self.target!r}: expected a callable objective; got {type(obj).__name__}")
            b = np.array(self.bounds, dtype=np.float64)
            if len(self.bounds) == 1:
                if dim is None:
                    raise InvalidParameterError(f"problem {self.target!r}: one (low, high) pair needs a dimension")
                b = np.repeat(b, dim, axis=0)
            return Problem(obj, Box(b[:, 0], b[:, 1]), name=self.name)
        if _is_problem(obj):
            return obj
        return self._from_factory(obj, dim)

    def _from_factory(self, obj, dim: int | None):
        if not callable(obj):
            raise ProblemLoadError(f"problem {self.target!r}: expected an optkit.Problem or a factory returning one; "
                                   f"got {type(obj).__name__}")
        try:
            made = obj(dim=dim) if ("dim" in _parameters(obj) and dim is not None) else obj()
        except TypeError as exc:
            raise ProblemLoadError(
                f"problem {self.target!r} is not an optkit.Problem and calling it as a factory failed ({exc}); "
                "if it is an objective function f(x), give its bounds (--bounds LOW:HIGH)"
            ) from exc
        if not _is_problem(made):
            raise ProblemLoadError(f"problem {self.target!r}: the factory returned {type(made).__name__}, not an "
                                   "optkit.Problem; if it is an objective function f(x), give its bounds (--bounds LOW:HIGH)")
        return made

    def to_json(self) -> dict:
        return {k: (list(map(list, v)) if k == "bounds" and v is not None else (list(v) if k == "dims" and v else v))
                for k, v in self.__dict__.items()}

    @classmethod
    def from_json(cls, data: dict) -> ProblemRef:
        bounds = data.get("bounds")
        dims = data.get("dims")
        return cls(data["kind"], data["target"], None if bounds is None else tuple((float(a), float(b)) for a, b in bounds),
                   data.get("f_opt"), data.get("label"), data.get("path"), None if dims is None else tuple(dims))


def _is_problem(obj) -> bool:
    from optkit.core.problem import Problem

    return isinstance(obj, Problem)


def _parameters(obj) -> set[str]:
    try:
        return set(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return set()


def _optkit_table() -> dict:
    from optkit.problems.classical import PROBLEMS as classical
    from optkit.problems.constrained import PROBLEMS as constrained
    from optkit.problems.ml import PROBLEMS as ml  # finite-sum problems, for the gradient methods

    return {**classical, **constrained, **ml}


def _optkit_factory(name: str):
    return _optkit_table()[name]


def optkit_problem_names() -> list[str]:
    """The names of :mod:`optkit.problems`'s classical and constrained problems (black-box problems on a box)
    and of its finite-sum problems (:class:`~optkit.StochasticProblem`, for gradient methods)."""
    return sorted(_optkit_table())


def load_target(target: str, path: str | None = None):
    """The object named by ``"module:attr"`` or ``"path/to/file.py:attr"`` (``attr`` may be dotted).

    Raises :class:`ProblemLoadError` with the import's traceback in ``details`` when the module
    fails to import, and :class:`~optkit.UnknownNameError` (close names suggested) when it has no
    such attribute.
    """
    module_name, sep, attr = str(target).rpartition(":")
    if not sep or not module_name or not attr:
        raise InvalidParameterError(f"problem {target!r}: expected 'module:name' or 'file.py:name'")
    try:
        if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
            module = _import_file(module_name)
        else:
            if path and path not in sys.path:
                sys.path.insert(0, path)
            module = importlib.import_module(module_name)
    except ProblemLoadError:
        raise
    except BaseException as exc:  # SyntaxError, SystemExit in a script, ...: the user sees the traceback
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ProblemLoadError(f"problem {target!r}: importing {module_name!r} failed: {type(exc).__name__}: {exc}",
                               traceback.format_exc()) from exc
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            raise UnknownNameError(f"problem {target!r}: {getattr(obj, '__name__', module_name)!r} has no attribute "
                                   f"{part!r}.{suggest(part, names)}")
        obj = getattr(obj, part)
    return obj


def _import_file(filename: str):
    file = Path(filename).expanduser().resolve()
    if not file.is_file():
        raise ProblemLoadError(f"problem file {filename!r} does not exist")
    name = f"optkit_user_problem_{abs(hash(str(file))):x}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def parse_bounds(text: str) -> tuple[tuple[float, float], ...]:
    """``"LOW:HIGH"`` (every coordinate) or ``"LOW:HIGH,LOW:HIGH,..."`` (one pair per coordinate)."""
    pairs = []
    for part in str(text).split(","):
        lo, sep, hi = part.strip().partition(":")
        try:
            pair = (float(lo), float(hi))
        except ValueError:
            pair = None
        if not sep or pair is None or not (math.isfinite(pair[0]) and math.isfinite(pair[1]) and pair[0] < pair[1]):
            raise InvalidParameterError(f"bounds: expected LOW:HIGH pairs with finite LOW < HIGH, e.g. '-5:5' or "
                                        f"'-5:5,0:1'; got {text!r}")
        pairs.append(pair)
    return tuple(pairs)


def _as_bounds(value, where: str) -> tuple[tuple[float, float], ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_bounds(value)
    try:
        pairs = [(float(a), float(b)) for a, b in (value if isinstance(value[0], (list, tuple)) else [value])]
    except (TypeError, ValueError, IndexError):
        raise InvalidParameterError(f"{where}: 'bounds' must be [low, high] or [[low, high], ...]; got {value!r}") from None
    return parse_bounds(",".join(f"{a!r}:{b!r}" for a, b in pairs))


def parse_problem(text: str, *, bounds=None, f_opt: float | None = None, label: str | None = None,
                  dims: Sequence[int] | None = None, cwd: str | None = None) -> ProblemRef:
    """A :class:`ProblemRef` for an :mod:`optkit.problems` name or a ``module:attr`` target.

    Unknown names without a colon raise :class:`~optkit.UnknownNameError` with close names.
    """
    text = str(text).strip()
    b = _as_bounds(bounds, f"problem {text!r}")
    d = None if dims is None else tuple(int(x) for x in dims)
    if ":" in text:
        return ProblemRef("user", text, b, f_opt, label, cwd if cwd is not None else os.getcwd(), d)
    key = text.lower().replace("-", "_")
    names = optkit_problem_names()
    if key not in names:
        raise UnknownNameError(f"unknown problem {text!r}.{suggest(key, names)} Give an optkit problem "
                               f"({', '.join(names)}) or 'module:name' for your own")
    if b is not None:
        raise InvalidParameterError(f"problem {text!r} is an optkit problem with its own bounds; 'bounds' is for your own functions")
    return ProblemRef("optkit", key, None, f_opt, label, None, d)


# --------------------------------------------------------------------------------------------
# planning


@dataclass
class PlannedProblems:
    """What :func:`plan_problems` made: the cells, and the problems that could not be loaded.

    ``failed`` maps a problem's name to its :class:`ProblemLoadError` (or other error); its cells are
    still planned (with ``dim`` 0 when the dimension could not be learned) and become FAILED rows
    when they run, so the bench records them.
    """

    specs: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)


def plan_problems(
    methods: Sequence[str],
    problems: Sequence[ProblemRef],
    dims: Sequence[int],
    seeds: Sequence[int],
    *,
    budget: int | None = None,
    budget_per_dim: int | None = None,
    targets: Sequence[float] = (1e-8,),
    suite: str | None = None,
    timeout: float | None = None,
) -> PlannedProblems:
    """Cells method x problem x dim x seed (method-major) for non-BBOB problems.

    A dimension-free problem runs in each of ``dims`` (or its own ``dims``); a fixed-dimension one
    once, in its dimension. A user problem that fails to load is kept in ``failed`` and planned once
    per method and seed with ``dim`` 0, so that its failure is stored with the results.
    """
    from optkit.bench.runner import RunSpec

    if (budget is None) == (budget_per_dim is None):
        raise InvalidParameterError("plan_problems: give exactly one of 'budget' and 'budget_per_dim'")
    for name, value in (("budget", budget), ("budget_per_dim", budget_per_dim)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InvalidParameterError(f"plan_problems: {name!r} must be an int >= 1; got {value!r}")
    tgt = tuple(sorted({float(t) for t in targets}, reverse=True))
    if not tgt or not all(math.isfinite(t) and t > 0 for t in tgt):
        raise InvalidParameterError(f"plan_problems: 'targets' must be finite precisions > 0; got {list(targets)!r}")
    for s in seeds:
        if int(s) < 0:
            raise InvalidParameterError(f"plan_problems: seeds must be >= 0; got {s!r}")
    for d in dims:
        if isinstance(d, bool) or int(d) < 1:
            raise InvalidParameterError(f"plan_problems: dimensions must be >= 1; got {d!r}")
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise InvalidParameterError(f"plan_problems: 'timeout' must be a number of seconds > 0; got {timeout!r}")
    out = PlannedProblems()
    grid: list[tuple[ProblemRef, int]] = []
    for ref in problems:
        try:
            own = ref.fixed_dim()
        except Exception as exc:  # shown by the caller; the cells below record it as FAILED rows
            out.failed[ref.name] = exc
            grid.append((ref, 0))
            continue
        if own is not None:
            grid.append((ref, own))
        else:
            grid.extend((ref, int(d)) for d in (ref.dims or dims))
    for m in methods:
        for ref, d in grid:
            n = budget if budget is not None else budget_per_dim * max(d, 1)
            for s in seeds:
                out.specs.append(RunSpec(str(m), 0, d, int(s), int(n), tgt, suite, problem=ref, timeout=timeout))
    return out


# --------------------------------------------------------------------------------------------
# config files

#: the keys a config file may hold at its top level
CONFIG_KEYS = ("suite", "methods", "peers", "functions", "dims", "seeds", "budget", "budget_per_dim", "targets",
               "peer_timeout", "problems")
#: the keys of one entry of ``problems``
PROBLEM_KEYS = ("problem", "bounds", "f_opt", "name", "dims")


def _read_config(path: Path) -> dict:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python < 3.11
            try:
                import tomli as tomllib
            except ModuleNotFoundError:
                raise ProblemLoadError("reading a TOML config on Python < 3.11 needs the 'tomli' package: "
                                       "pip install tomli") from None
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidParameterError(f"config {str(path)!r}: not valid TOML: {exc}") from None
    if suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ModuleNotFoundError:
            raise ProblemLoadError(f"config {str(path)!r}: reading YAML needs PyYAML, which is not installed: "
                                   "pip install pyyaml (or write the config as TOML)") from None
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InvalidParameterError(f"config {str(path)!r}: not valid YAML: {exc}") from None
        return {} if data is None else data
    if suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    raise InvalidParameterError(f"config {str(path)!r}: expected a .toml, .yaml/.yml or .json file")


def _check_keys(data, allowed, where: str) -> None:
    if not isinstance(data, dict):
        raise InvalidParameterError(f"{where}: expected a table of keys; got {type(data).__name__}")
    for k in data:
        if k not in allowed:
            raise UnknownNameError(f"{where}: unknown key {k!r}.{suggest(str(k), allowed)} Known keys: {', '.join(allowed)}")


def load_config(path) -> dict:
    """Read a bench config file (TOML, YAML with PyYAML installed, or JSON) and check its keys.

    Returns a dict with the keys of :data:`CONFIG_KEYS` that the file sets; ``problems`` becomes a
    list of :class:`ProblemRef` (module targets resolved against the config file's folder), and
    ``seeds`` a list (a count ``n`` means seeds 0..n-1).

    Raises :class:`~optkit.UnknownNameError` for an unknown key (close names suggested) and
    :class:`~optkit.InvalidParameterError` for a bad value or a file that cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidParameterError(f"config {str(path)!r}: no such file")
    data = _read_config(path)
    where = f"config {str(path)!r}"
    _check_keys(data, CONFIG_KEYS, where)
    out = dict(data)
    for key in ("methods", "functions", "dims", "targets"):
        if key in out:
            value = out[key]
            out[key] = [x.strip() for x in value.split(",")] if isinstance(value, str) else list(value)
    if "seeds" in out:
        seeds = out["seeds"]
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            if seeds < 1:
                raise InvalidParameterError(f"{where}: 'seeds' as a count must be >= 1; got {seeds!r}")
            out["seeds"] = list(range(seeds))
        else:
            out["seeds"] = [int(s) for s in seeds]
    for key in ("dims",):
        if key in out:
            out[key] = [int(x) for x in out[key]]
    if "targets" in out:
        out["targets"] = [float(x) for x in out["targets"]]
    refs = []
    for i, entry in enumerate(data.get("problems") or []):
        if isinstance(entry, str):
            entry = {"problem": entry}
        _check_keys(entry, PROBLEM_KEYS, f"{where}, problems[{i}]")
        if "problem" not in entry:
            raise InvalidParameterError(f"{where}, problems[{i}]: missing 'problem' (an optkit name or 'module:name')")
        refs.append(parse_problem(entry["problem"], bounds=entry.get("bounds"), f_opt=entry.get("f_opt"),
                                  label=entry.get("name"), dims=entry.get("dims"), cwd=str(path.resolve().parent)))
    if "problems" in out:
        out["problems"] = refs
    return out


__all__ = ["CONFIG_KEYS", "PROBLEM_KEYS", "PlannedProblems", "ProblemLoadError", "ProblemRef", "load_config",
           "load_target", "optkit_problem_names", "parse_bounds", "parse_problem", "plan_problems"]

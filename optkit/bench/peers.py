"""Peer adapters: other libraries' optimizers run through the bench's budget accounting.

A peer is a method named ``peer:<library>[:<variant>]`` (``optkit list --peers`` lists them). It runs
on the same problem as optkit's methods, through a :class:`PeerTask` that

* evaluates every point the peer asks for with :meth:`optkit.Problem.evaluate_records` and records
  it in an :class:`optkit.History` (so the row's best-so-far trace, evaluations to targets and
  timings are computed exactly as for optkit's methods);
* counts evaluations exactly and stops the peer at the budget (the evaluation that would exceed it
  raises :class:`BudgetExhausted`, caught by the adapter's caller);
* never clips: a point outside the box is evaluated where the peer put it, and the row reports the
  share of such points in ``outside_box_fraction``.

The adapters themselves live in :mod:`optkit.bench.peer_adapters`.

Each peer cell runs in its own subprocess (:func:`run_isolated`) with a timeout, because some
peers crash or hang: Nevergrad 1.0.12's NGOpt raises ``only 0-dimensional arrays can be converted``
under numpy 2.4 and then hangs the interpreter at exit. The child writes its row and leaves with
``os._exit`` (no interpreter teardown); a child that times out or dies becomes a FAILED row with the
reason, and the bench goes on.

What each peer sees: the objective (minimized; ``maximize=True`` problems are negated, as for
optkit's methods); on a constrained problem the objective plus ``1e6 x`` the summed constraint
violation (no peer here handles black-box constraints); for a failed evaluation under
``on_error="penalize"``/``"skip"`` a value worse than every value seen so far. Under
``on_error="raise"`` a failed evaluation ends the run as FAILED.

Examples
--------
>>> resolve_peer("peer:nevergrad:ngopt"), resolve_peer("optuna:TPE")
('peer:nevergrad:NGOpt', 'peer:optuna:tpe')
>>> "peer:cma" in PEERS, PEERS["peer:scipy:de"].packages
(True, ('scipy',))
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optkit.core.errors import InvalidParameterError, ObjectiveError, OptkitError, OptkitWarning, UnknownNameError, suggest

#: True inside a peer's subprocess (set by :func:`_child_main`): run the peer here, not in a new child
IN_CHILD = False

#: seconds a peer cell may take (imports included) when its spec sets no timeout
DEFAULT_TIMEOUT = 900.0

#: weight of the summed constraint violation added to the objective that peers see
PENALTY_WEIGHT = 1e6


class PeerUnavailableError(OptkitError, ImportError):
    """A peer whose Python package is not installed."""


class BudgetExhausted(BaseException):  # noqa: N818 -- a control-flow signal, not an error
    """Raised by :class:`PeerTask` when a peer asks for an evaluation beyond the budget.

    A ``BaseException`` so that a peer's ``except Exception`` around the objective cannot swallow it.
    """


class PeerNote(OptkitWarning):
    """Something a peer does that its name does not say (e.g. Nevergrad's CMA turning diagonal)."""


@dataclass(frozen=True)
class PeerInfo:
    """One peer adapter: its name, library, variant, the packages it needs and a one-line summary."""

    name: str
    library: str
    variant: str | None
    packages: tuple[str, ...]
    summary: str


def _peer(library: str, variant: str | None, packages, summary: str) -> tuple[str, PeerInfo]:
    name = "peer:" + library + (f":{variant}" if variant else "")
    return name, PeerInfo(name, library, variant, tuple(packages), summary)


PEERS: dict[str, PeerInfo] = dict([
    _peer("cma", None, ["cma"], "pycma CMA-ES (ask/tell, box via pycma's BoundTransform), IPOP restarts until the budget"),
    _peer("nevergrad", "NGOpt", ["nevergrad"], "Nevergrad's NGOpt wizard (8-36 ms/evaluation at d=10 here; "
          "1.0.12 under numpy 2.4 raises at evaluation 118 in d=10 with budgets >= 1000)"),
    _peer("nevergrad", "CMA", ["nevergrad"], "Nevergrad's CMA: on a bounded box it picks CMAbounded, a diagonal "
          "elitist CMA (noted in the row's warning)"),
    _peer("nevergrad", "DE", ["nevergrad"], "Nevergrad's DE"),
    _peer("nevergrad", "TwoPointsDE", ["nevergrad"], "Nevergrad's TwoPointsDE"),
    _peer("nevergrad", "PSO", ["nevergrad"], "Nevergrad's PSO"),
    _peer("pypop7", "LMMAES", ["pypop7"], "PyPop7 LM-MA-ES (evaluates outside the box: see outside_box_fraction)"),
    _peer("pypop7", "SEPCMAES", ["pypop7"], "PyPop7 sep-CMA-ES (evaluates outside the box)"),
    _peer("pypop7", "MMES", ["pypop7"], "PyPop7 MMES (evaluates outside the box)"),
    _peer("pypop7", "CMAES", ["pypop7"], "PyPop7 CMA-ES (evaluates outside the box)"),
    _peer("pypop7", "JADE", ["pypop7"], "PyPop7 JADE (evaluates outside the box)"),
    _peer("pypop7", "SHADE", ["pypop7"], "PyPop7 SHADE (evaluates outside the box)"),
    _peer("pypop7", "SPSO", ["pypop7"], "PyPop7 standard PSO (evaluates outside the box)"),
    _peer("optuna", "tpe", ["optuna"], "Optuna TPESampler (ask/tell)"),
    _peer("optuna", "cmaes", ["optuna", "cmaes"], "Optuna CmaEsSampler (needs the 'cmaes' package)"),
    _peer("optuna", "gp", ["optuna", "torch"], "Optuna GPSampler(deterministic_objective=True)"),
    _peer("optuna", "random", ["optuna"], "Optuna RandomSampler"),
    _peer("scipy", "de", ["scipy"], "scipy.optimize.differential_evolution (scipy's defaults, polish included)"),
    _peer("scipy", "dual_annealing", ["scipy"], "scipy.optimize.dual_annealing (maxfun = budget)"),
    _peer("botorch", None, ["botorch", "gpytorch", "torch"], "a plain BoTorch loop: SingleTaskGP + LogEI, "
          "Sobol start of 2d+1 points"),
])

#: the peers ``--peers`` adds for cheap-function suites, and for the expensive-budget ``bo`` suite
DEFAULT_PEERS = ("peer:cma", "peer:nevergrad:NGOpt", "peer:nevergrad:CMA", "peer:nevergrad:DE", "peer:pypop7:LMMAES",
                 "peer:pypop7:SEPCMAES", "peer:pypop7:SHADE", "peer:optuna:tpe", "peer:scipy:de",
                 "peer:scipy:dual_annealing")
BO_PEERS = ("peer:optuna:tpe", "peer:optuna:gp", "peer:botorch", "peer:nevergrad:NGOpt", "peer:scipy:dual_annealing")

def is_peer(name) -> bool:
    """Whether ``name`` names a peer (starts with ``peer:``)."""
    return str(name).strip().lower().startswith("peer:")


def resolve_peer(name: str) -> str:
    """The canonical peer name for ``name`` (``peer:`` prefix optional, case forgiven).

    ``peer:py:module:callable`` names your own adapter, a callable taking a :class:`PeerTask`.
    Raises :class:`~optkit.UnknownNameError` with close names for an unknown peer.
    """
    text = str(name).strip()
    if not text.lower().startswith("peer:"):
        text = "peer:" + text
    if text.lower().startswith("peer:py:"):
        if text.count(":") < 3:
            raise InvalidParameterError(f"peer {name!r}: your own adapter is named 'peer:py:module:callable'")
        return "peer:py:" + text[len("peer:py:"):]
    by_lower = {k.lower(): k for k in PEERS}
    key = text.lower()
    if key not in by_lower:
        raise UnknownNameError(f"unknown peer {name!r}.{suggest(key, by_lower)} Known peers: {', '.join(PEERS)} "
                               "(or 'peer:py:module:callable' for your own adapter)")
    return by_lower[key]


def missing_packages(name: str) -> list[str]:
    """The packages peer ``name`` needs that are not installed (found without importing them)."""
    info = PEERS.get(name)
    if info is None:
        return []
    return [p for p in info.packages if importlib.util.find_spec(p) is None]


#: the packages each of optkit's extras installs (pyproject.toml)
_EXTRAS = {"peers": ("nevergrad", "pypop7", "optuna"), "bo": ("torch", "botorch", "gpytorch")}


def install_hint(missing) -> str:
    """How to install ``missing`` packages: the optkit extra that has them all, else pip by name."""
    for extra, packages in _EXTRAS.items():
        if set(missing) <= set(packages):
            return f"install the '{extra}' extra: pip install 'optkit[{extra}]'"
    return f"pip install {' '.join(missing)}"


def check_available(names) -> None:
    """Raise :class:`PeerUnavailableError` naming the extra to install when a peer's package is missing."""
    for n in names:
        missing = missing_packages(n)
        if missing:
            raise PeerUnavailableError(f"{n} needs the Python package(s) {', '.join(missing)}, not installed; "
                                       f"{install_hint(missing)}")


def package_version(name: str) -> str | None:
    """The installed version of the first package peer ``name`` needs (None when missing)."""
    from importlib.metadata import PackageNotFoundError, version

    info = PEERS[name]
    try:
        return version(info.packages[0])
    except PackageNotFoundError:
        return None


# --------------------------------------------------------------------------------------------
# budget accounting


class PeerTask:
    """What an adapter drives: the box, the budget, a seeded generator and the counted objective.

    Attributes
    ----------
    lower, upper : ndarray (d,)
    dim, budget, seed : int
    rng : numpy.random.Generator
        Seeded from ``seed``; adapters draw start points and the peers' seeds from it.
    n : int
        Evaluations made so far.
    """

    def __init__(self, problem, budget: int, seed: int):
        from optkit.core.result import History

        space = problem.space
        if getattr(space, "lower", None) is None:
            raise InvalidParameterError(f"peers run on box-bounded problems; {problem.name!r} has {space!r}")
        self.problem = problem
        self.lower = np.asarray(space.lower, dtype=np.float64)
        self.upper = np.asarray(space.upper, dtype=np.float64)
        self.dim, self.budget, self.seed = problem.dim, int(budget), int(seed)
        self.rng = np.random.default_rng(seed)
        self.history = History(problem.dim, problem.n_constraints, problem.sign)
        self.n = 0
        self.rounds = 0
        self._worst = None

    @property
    def remaining(self) -> int:
        return self.budget - self.n

    def next_round(self) -> None:
        """Mark the start of a new generation / ``ask`` (counted in the row's ``nit``)."""
        self.rounds += 1

    def sigma0(self) -> float:
        """The start step size optkit's evolution strategies use: 0.3 x the box's mean width."""
        return 0.3 * float(np.mean(self.upper - self.lower))

    def __call__(self, x) -> float:
        """The value the peer minimizes at ``x`` (d,); raises :class:`BudgetExhausted` past the budget."""
        if self.n >= self.budget:
            raise BudgetExhausted
        X = np.array(x, dtype=np.float64).reshape(1, self.dim)
        rec = self.problem.evaluate_records(X)
        self.history.append(X, rec.y, rec.C, rec.error, rec.seconds, batch=self.rounds)
        self.n += 1
        err = rec.error[0]
        if err is not None:
            if self.problem.on_error == "raise":
                raise ObjectiveError(f"the objective failed at evaluation {self.n}: {err}")
            worst = 0.0 if self._worst is None else self._worst
            return worst + abs(worst) + 1.0
        value = float(rec.y[0])
        if rec.C is not None:
            value += PENALTY_WEIGHT * float(np.sum(np.maximum(rec.C[0], 0.0)))
        self._worst = value if self._worst is None else max(self._worst, value)
        return value

    def evaluate_all(self, X) -> list[float]:
        """Values of the rows of ``X``, in order (stops with :class:`BudgetExhausted` at the budget)."""
        return [self(x) for x in np.asarray(X, dtype=np.float64)]


def prepare(method: str, problem) -> Callable:
    """Import peer ``method``'s package (outside the run's clock) and return ``run(problem, budget, seed)``.

    ``run`` returns an :class:`optkit.Result`; when the peer raises, the exception propagates with
    the run so far attached as ``exc.result`` (as :class:`~optkit.ObjectiveError` does).
    """
    adapter, variant = _adapter(method)
    if not resolve_peer(method).startswith("peer:py:"):
        _warm_up(adapter, variant, problem)

    def run(problem, budget: int, seed: int):
        from optkit.core.result import Status, make_result

        task = PeerTask(problem, budget, seed)
        t0 = time.perf_counter()
        error = None
        try:
            adapter(task, variant)
        except BudgetExhausted:
            pass
        except Exception as exc:  # recorded in the row with the evaluations made so far
            error = exc
        wall = time.perf_counter() - t0
        nit = task.rounds or task.n
        if error is not None:
            res = make_result(task.history, Status.FAILED, f"{type(error).__name__}: {error}", nit, method, wall)
            try:
                error.result = res
            except AttributeError:  # an exception type that takes no attributes: the run so far is lost
                pass
            raise error
        if task.n >= task.budget:
            status, message = Status.BUDGET_EXHAUSTED, f"budget of {task.budget} evaluations used"
        else:
            status, message = Status.CONVERGED, f"the peer stopped on its own after {task.n} evaluations"
        return make_result(task.history, status, message, nit, method, wall)

    return run


def _sphere(X):
    return np.sum(np.square(X), axis=1)


def _warm_up(adapter, variant, problem) -> None:
    """Run the peer for a few evaluations of a sphere on the problem's box, outside the clock.

    A library's lazy imports and first-call setup (pycma inside Nevergrad's CMA, scipy.optimize's
    submodules, torch's first GP fit) would otherwise be charged to the row as optimizer overhead.
    Whatever happens here (warnings, a crash) is discarded; the real run meets it again.
    """
    from optkit.core.problem import Problem

    warm = Problem(_sphere, problem.space, vectorized=True, name="warm-up")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            adapter(PeerTask(warm, 10, 0), variant)
        except (Exception, BudgetExhausted):
            pass


def _adapter(method: str):
    """``(adapter(task, variant), variant)`` for peer ``method``, its package imported."""
    name = resolve_peer(method)
    if name.startswith("peer:py:"):
        from optkit.bench.problems import load_target

        target = name[len("peer:py:"):]
        fn = load_target(target)
        if not callable(fn):
            raise InvalidParameterError(f"peer {name!r}: {target!r} is not callable")
        return (lambda task, variant: fn(task)), None
    check_available([name])
    info = PEERS[name]
    for pkg in info.packages:
        importlib.import_module(pkg)
    from optkit.bench.peer_adapters import ADAPTERS

    return ADAPTERS[info.library], info.variant


# --------------------------------------------------------------------------------------------
# isolation

_CHILD = "import sys; from optkit.bench.peers import _child_main; _child_main(sys.argv[1], sys.argv[2])"


def spec_to_json(spec) -> dict:
    data = dict(spec.__dict__)
    data["targets"] = list(spec.targets)
    data["problem"] = None if spec.problem is None else spec.problem.to_json()
    return data


def spec_from_json(data: dict):
    from optkit.bench.problems import ProblemRef
    from optkit.bench.runner import RunSpec

    data = dict(data)
    data["targets"] = tuple(data["targets"])
    if data.get("problem") is not None:
        data["problem"] = ProblemRef.from_json(data["problem"])
    return RunSpec(**data)


def run_isolated(spec) -> dict:
    """Run peer cell ``spec`` in a fresh Python subprocess and return its row.

    The subprocess gets ``spec.timeout`` seconds (:data:`DEFAULT_TIMEOUT` when None), imports
    included; then it and anything it started are killed. A child that times out, dies, or exits
    without a row gives a FAILED row whose ``error`` says so, with the end of its output. The child's
    stdout and stderr never reach the bench's terminal.
    """
    from optkit.bench.runner import _blank_row

    timeout = float(spec.timeout) if spec.timeout is not None else DEFAULT_TIMEOUT
    with tempfile.TemporaryDirectory(prefix="optkit-peer-") as tmp:
        spec_path, row_path, log_path = Path(tmp, "spec.json"), Path(tmp, "row.json"), Path(tmp, "output.txt")
        spec_path.write_text(json.dumps({"spec": spec_to_json(spec), "sys_path": sys.path}), encoding="utf-8")
        t0 = time.perf_counter()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(spec_path), str(row_path)], stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                rc = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                rc = None
            except BaseException:  # Ctrl-C: the child must not outlive the bench
                _kill(proc)
                raise
            if rc is None or row_path.exists():
                _kill(proc)  # a timed-out child, or anything it left running
        elapsed = time.perf_counter() - t0
        if row_path.exists():
            return json.loads(row_path.read_text(encoding="utf-8"))
        tail = _tail(log_path)
        if rc is None:
            why = f"peer timed out after {timeout:g} s and was killed"
        elif rc < 0:
            why = f"peer process killed by signal {_signal_name(-rc)}"
        else:
            why = f"peer process exited with code {rc} without a result"
        row = _blank_row(spec, why + (f"; its last output: {tail}" if tail else ""))
        row["wall_time"] = elapsed
        return row


def _kill(proc) -> None:
    """Kill ``proc``'s process group (its own session: only what it started) and reap it."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)  # also what the child left running
        elif proc.poll() is None:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return str(num)


def _tail(path: Path, limit: int = 600) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
    return ("..." + text[-limit:]) if len(text) > limit else text


def _child_main(spec_path: str, row_path: str) -> None:
    """The peer subprocess: run the cell, write its row atomically, leave without interpreter teardown."""
    global IN_CHILD
    IN_CHILD = True
    code = 1
    try:
        data = json.loads(Path(spec_path).read_text(encoding="utf-8"))
        sys.path.extend(p for p in data["sys_path"] if p not in sys.path)
        from optkit.bench.runner import run_one

        row = run_one(spec_from_json(data["spec"]))
        part = row_path + ".part"
        Path(part).write_text(json.dumps(row), encoding="utf-8")
        os.replace(part, row_path)
        code = 0
    except BaseException:  # reported by the parent from this process's output
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # some peers (Nevergrad 1.0.12 after a crash) hang in interpreter teardown


__all__ = ["BO_PEERS", "DEFAULT_PEERS", "DEFAULT_TIMEOUT", "PEERS", "BudgetExhausted", "PeerInfo", "PeerNote", "PeerTask",
           "PeerUnavailableError", "check_available", "install_hint", "is_peer", "missing_packages", "package_version", "prepare",
           "resolve_peer", "run_isolated"]

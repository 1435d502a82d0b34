"""The :class:`Optimizer` base class: ask/tell bookkeeping, validation, state, and ``minimize``.

A method subclasses :class:`Optimizer` and implements two hooks in the *encoded* space
(``space.encoded_lower .. space.encoded_upper``; the box itself for a :class:`~optkit.Box`, the unit
cube for a :class:`~optkit.SearchSpace`):

* ``_ask(n) -> Z`` (n, d): the next ``n`` points to evaluate;
* ``_tell(Z, y, C)``: values ``y`` (n,) to minimize, constraint values ``C`` (n, m) or None, for
  points it asked (in any grouping and order).

and optionally ``batch_size`` (the natural ``n`` of ``ask()``), ``stop_reason()`` (a message when it
has converged), ``_get_state()`` / ``_set_state()`` for its own state, and ``_discard(Z)`` for points
that will never be told (``on_error="skip"``). Hyperparameters are keyword-only constructor
arguments, passed on to ``Optimizer.__init__`` so they are validated against the class's
``_parameter_constraints`` table and stored under their own names.
"""

from __future__ import annotations

import abc
import functools
import inspect
from typing import ClassVar

import numpy as np

from optkit.core.errors import InvalidParameterError, StateError
from optkit.core.params import SEED, Interval, validate, validate_all
from optkit.core.space import Space, as_points, as_space, clip

#: a point's dictionary key holds at most this many of its coordinates: hashing a whole 10,000-long
#: row three times per evaluation cost more than a large-scale ES's own update
KEY_COORDS = 32


@functools.cache
def _key_index(dim: int) -> np.ndarray | None:
    return None if dim <= KEY_COORDS else np.linspace(0, dim - 1, KEY_COORDS).astype(np.intp)


def _key(row: np.ndarray) -> bytes:
    """A hashable key of a point: its bytes, or those of ``KEY_COORDS`` spread coordinates in high
    dimension (then rows that share a key are told apart by comparing them whole)."""
    row = np.asarray(row, dtype=np.float64)
    idx = _key_index(row.shape[-1])
    return (row if idx is None else row[idx]).tobytes()


class Optimizer(abc.ABC):
    """Base class of every optkit optimizer (see the module docstring for the subclass contract)."""

    #: registry name, set by :func:`optkit.core.registry.register`
    name: ClassVar[str] = ""
    #: method family ("sampling", "local", "population", ...)
    family: ClassVar[str] = ""
    #: name -> list of admissible constraints (see :mod:`optkit.core.params`)
    _parameter_constraints: ClassVar[dict] = {}
    #: whether the method needs finite bounds on every dimension
    needs_bounds: ClassVar[bool] = True

    def __init__(self, space, *, seed=None, **params):
        owner = type(self).__name__
        self.space: Space = as_space(space)
        validate(owner, "seed", seed, [SEED])
        validate_all(owner, params, self._parameter_constraints)
        if self.needs_bounds:
            self.space.require_bounded(owner)
        for k, v in params.items():
            setattr(self, k, v)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.n_asked = 0
        self.n_told = 0
        # asked points not yet told: key -> encoded rows, and the same key -> the rows in the user's space
        self._pending: dict[bytes, list[np.ndarray]] = {}
        self._pending_x: dict[bytes, list[np.ndarray]] = {}

    # -- the public protocol -------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.space.dim

    @property
    def batch_size(self) -> int:
        """How many points ``ask()`` returns when ``n`` is not given."""
        return 1

    def ask(self, n: int | None = None) -> np.ndarray:
        """The next points to evaluate, shape (n, d), in the user's space."""
        if n is None:
            n = self.batch_size
        elif type(n) is not int or n < 1:
            validate(type(self).__name__ + ".ask", "n", n, [Interval(int, 1, None)])
        Z = np.asarray(self._ask(int(n)), dtype=np.float64)
        if Z.shape != (n, self.dim):
            raise StateError(f"{type(self).__name__}._ask({n}) returned shape {Z.shape}; expected ({n}, {self.dim})")
        Z = clip(Z, self.space.encoded_lower, self.space.encoded_upper)
        X = self.space.decode(Z)
        for x, z in zip(X, Z):
            k = _key(x)
            self._pending.setdefault(k, []).append(z)
            self._pending_x.setdefault(k, []).append(x)
        self.n_asked += n
        return X

    def tell(self, X, y, constraints=None) -> None:
        """Report values ``y`` (n,) (and constraint values (n, m)) of points ``X`` (n, d) it asked."""
        owner = type(self).__name__ + ".tell"
        X = as_points(X, self.dim)
        n = X.shape[0]
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if y.shape != (n,):
            raise InvalidParameterError(f"{owner}: 'y' must have one value per point, shape ({n},); got {y.shape}")
        if not np.all(np.isfinite(y)):
            bad = int(np.flatnonzero(~np.isfinite(y))[0])
            raise InvalidParameterError(
                f"{owner}: 'y' must be finite; y[{bad}] = {y[bad]!r}. Let minimize() apply the problem's "
                "on_error policy, or leave the point out"
            )
        C = None
        if constraints is not None:
            C = np.asarray(constraints, dtype=np.float64)
            C = C.reshape(n, -1) if C.size else np.zeros((n, 0))
            if C.shape[0] != n or not np.all(np.isfinite(C)):
                raise InvalidParameterError(f"{owner}: 'constraints' must be finite with shape ({n}, m); got {C.shape}")
        Z = self._claim(X, owner)
        self._tell(Z, y, C)
        self.n_told += n

    def forget(self, X) -> None:
        """Give up on asked points that will never be told (their evaluation failed)."""
        Z = self._claim(as_points(X, self.dim), type(self).__name__ + ".forget")
        self._discard(Z)

    def _claim(self, X: np.ndarray, owner: str) -> np.ndarray:
        """The encoded rows of asked points ``X`` (removed from the pending ones), all or none."""
        exact = _key_index(self.dim) is None
        chosen: list[tuple[bytes, int]] = []
        used: dict[bytes, set[int]] = {}
        by_bytes: dict[bytes, dict[bytes, list[int]]] = {}  # full-row index of a crowded bucket, built on demand
        for i, x in enumerate(X):
            k = _key(x)
            rows = self._pending_x.get(k, ())
            taken = used.setdefault(k, set())
            j = None
            if not exact and len(rows) > 8:  # many rows share the short key (e.g. one coordinate perturbed each)
                if k not in by_bytes:
                    by_bytes[k] = {}
                    for jj, r in enumerate(rows):
                        by_bytes[k].setdefault(np.asarray(r, dtype=np.float64).tobytes(), []).append(jj)
                hits = by_bytes[k].get(np.asarray(x, dtype=np.float64).tobytes(), ())
                j = next((jj for jj in hits if jj not in taken), None)
            if j is None:
                j = next((j for j in range(len(rows)) if j not in taken and (exact or np.array_equal(rows[j], x))), None)
            if j is None:
                raise StateError(
                    f"{owner}: point {i} ({X[i].tolist()!r:.80}) was never asked, or was told already; "
                    "tell() accepts only points returned by ask()"
                )
            taken.add(j)
            chosen.append((k, j))
        Z = np.empty_like(X)
        for i, (k, j) in enumerate(chosen):
            Z[i] = self._pending[k][j]
        for k, js in used.items():
            for j in sorted(js, reverse=True):
                del self._pending[k][j], self._pending_x[k][j]
            if not self._pending[k]:
                del self._pending[k], self._pending_x[k]
        return Z

    def pending(self) -> tuple[np.ndarray, np.ndarray]:
        """The points asked and not yet told: ``(X, Z)``, in the user's space and encoded, (n, d) each."""
        X = [x for xs in self._pending_x.values() for x in xs]
        Z = [z for zs in self._pending.values() for z in zs]
        return np.array(X).reshape(-1, self.dim), np.array(Z).reshape(-1, self.dim)

    def stop_reason(self) -> str | None:
        """A message when the method has converged and asks to stop; None otherwise."""
        return None

    def stop_status(self):
        """The :class:`~optkit.Status` of a stop asked by :meth:`stop_reason` (default CONVERGED).

        A method that proves the problem infeasible (CONFIG) returns ``Status.INFEASIBLE``.
        """
        from optkit.core.result import Status

        return Status.CONVERGED

    def _loop_started(self, problem) -> None:
        """Called by the loop (``minimize`` and ``resume``) before the first ask, with the problem.

        A method that reads more from the problem than the values (CoxBO: the events of a window)
        binds it here; :meth:`_loop_ended` is called when the run ends, however it ends.
        """

    def _loop_ended(self) -> None:
        """Called when the loop ends (see :meth:`_loop_started`)."""

    def result_extras(self) -> dict:
        """Extra fields the method adds to the :class:`~optkit.Result` of ``minimize`` (evidence, models)."""
        return {}

    def minimize(self, problem, budget: int, *, callback=None, progress: bool = False, journal=None, executor=None):
        """Run the ask/evaluate/tell loop on ``problem`` for at most ``budget`` evaluations.

        Returns a :class:`~optkit.Result`. ``callback(result)`` is called after every ``tell`` with
        the run so far; returning True or raising ``StopIteration`` stops the run. ``journal`` is a
        path to a SQLite file that records every evaluation before it is told (resume the run with
        :func:`optkit.resume`). ``executor`` is any ``concurrent.futures.Executor``: the points of
        one ``ask`` are evaluated in parallel and told in the order asked. Points asked earlier through
        :meth:`ask` and not yet told are forgotten first (as by :meth:`forget`): the loop cannot
        evaluate them.
        """
        from optkit.core.loop import run

        return run(self, problem, budget, callback=callback, progress=progress, journal=journal, executor=executor)

    # -- hooks ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def _ask(self, n: int) -> np.ndarray:
        """Next ``n`` points in the encoded space."""

    @abc.abstractmethod
    def _tell(self, Z: np.ndarray, y: np.ndarray, C: np.ndarray | None) -> None:
        """Values of asked points (encoded)."""

    def _discard(self, Z: np.ndarray) -> None:
        """Asked points that will never be told; by default nothing to do."""

    def _get_state(self) -> dict:
        """The method's own state (JSON scalars, lists, dicts, numpy arrays)."""
        return {}

    def _set_state(self, state: dict) -> None:
        """Restore what :meth:`_get_state` returned."""

    # -- parameters and state ------------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        """The constructor's hyperparameter names (everything but ``space``)."""
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p not in ("self", "space")]

    def get_params(self) -> dict:
        """Hyperparameters (and seed) as given to the constructor."""
        return {k: getattr(self, k) for k in self.param_names()}

    def state_dict(self) -> dict:
        """Everything needed to continue exactly: JSON scalars plus numpy arrays, never pickle."""
        pend_X, pend_Z = self.pending()
        return {
            "optimizer": self.name or type(self).__name__,
            "dim": self.dim,
            "rng": self.rng.bit_generator.state,
            "n_asked": self.n_asked,
            "n_told": self.n_told,
            "pending_X": pend_X,
            "pending_Z": pend_Z,
            "method": self._get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from :meth:`state_dict` (of an optimizer of the same class and space)."""
        me = self.name or type(self).__name__
        if state.get("optimizer") != me or state.get("dim") != self.dim:
            raise StateError(
                f"load_state_dict: state is for optimizer {state.get('optimizer')!r} in dim {state.get('dim')}; "
                f"this is {me!r} in dim {self.dim}"
            )
        self.rng.bit_generator.state = state["rng"]
        self.n_asked, self.n_told = int(state["n_asked"]), int(state["n_told"])
        self._pending, self._pending_x = {}, {}
        for x, z in zip(np.asarray(state["pending_X"], dtype=np.float64), np.asarray(state["pending_Z"])):
            k = _key(x)
            self._pending.setdefault(k, []).append(np.array(z, dtype=np.float64))
            self._pending_x.setdefault(k, []).append(x.copy())
        self._set_state(state["method"])

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = []
        for k, p in sig.parameters.items():
            if k in ("self", "space"):
                continue
            v = getattr(self, k, None)
            if p.default is inspect.Parameter.empty or not _same(v, p.default):
                shown.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _same(a, b) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:
        return a is b


class LoopOnly:
    """Mixin (put before :class:`Optimizer` in the bases) for methods that run only through their own
    ``minimize`` on a richer problem type (gradient methods on a StochasticProblem, bilevel methods on
    a BilevelProblem): ``ask``/``tell`` raise a :class:`StateError` that says how to run them, and
    ``batch_size`` is an ordinary hyperparameter (the minibatch size, None for the full batch)."""

    #: how the error names the method's kind and the call that runs it
    _loop_kind: str = "gradient method"
    _loop_call: str = "minimize(StochasticProblem, budget)"

    @property
    def batch_size(self) -> int | None:
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value) -> None:
        self._batch_size = value

    def ask(self, n=None):
        raise StateError(f"{type(self).__name__} is a {self._loop_kind}: it is not driven by ask/tell with values alone; "
                         f"run it with {self._loop_call}")

    def tell(self, X, y, constraints=None):
        self.ask()

    _ask = ask

    def _tell(self, Z, y, C):
        self.ask()

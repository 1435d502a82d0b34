"""The zeroth-order family's one layer: estimation rounds through ask/tell, the iterate in the box, state.

A method implements

* ``_step(g, x) -> x_new`` (encoded space): its update from the gradient estimate ``g`` at the iterate
  ``x`` (the layer projects the result into the box, a clip);
* ``_state()`` / ``_load(state)``: its own state (JSON scalars and numpy arrays).

Each round of estimation is asked as one batch: the points the estimator needs around the current
iterate (``batch_size`` = the estimator's cost), so all of them can be evaluated in parallel. When
every point of the oldest open round has been told, the estimate is formed and ``_step`` applied, oldest
round first. ``ask(n)`` with ``n`` larger than the open rounds starts further rounds at the current
iterate (their estimates are then applied one after the other, as in asynchronous SGD). Points given up
with ``forget`` count as missing values (the estimator leaves out the terms that need them).
"""

from __future__ import annotations

import abc

import numpy as np

from optkit.core.errors import InvalidParameterError
from optkit.core.optimizer import Optimizer, _key, _key_index
from optkit.core.params import BOOL, POINT, Interval, Options
from optkit.core.space import clip, encoded_start
from optkit.zeroth_order.estimators import ESTIMATORS, MASK, POSITIVE, make_estimator

#: hyperparameters every zeroth-order method has (merged into each method's table)
COMMON_CONSTRAINTS: dict = {
    "lr": [POSITIVE],
    "lr_decay": [Interval(float, 0, 1)],
    "estimator": [Options(ESTIMATORS)],
    "smoothing": [None, POSITIVE],
    "n_directions": [Interval(int, 1, None)],
    "antithetic": [BOOL],
    "mask": [None, MASK],
    "n_coordinates": [None, Interval(int, 1, None)],
    "x0": [None, POINT],
}

#: the default smoothing parameter, relative to the mean width of the (encoded) box
SMOOTHING_REL = 1e-5


def _round(x: np.ndarray, P: np.ndarray, center: bool) -> dict:
    k = P.shape[0]
    return {"x": x, "P": P, "center": center, "values": np.full(k, np.nan), "done": np.zeros(k, bool),
            "asked": np.zeros(k, bool), "slots": None}


def _slots(r: dict) -> dict:
    slots: dict[bytes, list[int]] = {}
    for j in np.flatnonzero(~r["done"]):
        slots.setdefault(_key(r["P"][j]), []).append(int(j))
    return slots


class ZerothOrderOptimizer(Optimizer):
    """Base of the zeroth-order methods (see the module docstring)."""

    family = "zeroth_order"
    needs_bounds = False

    def __init__(self, space, *, seed=None, **params):
        mask = params.get("mask")
        super().__init__(space, seed=seed, **params)
        owner = type(self).__name__
        if not (params["estimator"] in ("forward", "central") or (mask is None and params.get("n_coordinates") is None)):
            raise InvalidParameterError(
                f"{owner}: 'mask' and 'n_coordinates' apply to the coordinate-wise estimators ('forward', 'central'); "
                f"got them with estimator={params['estimator']!r}"
            )
        if params["estimator"] in ("forward", "central") and (params["n_directions"] != 1 or not params["antithetic"]):
            raise InvalidParameterError(
                f"{owner}: 'n_directions' and 'antithetic' apply to the random estimators ('gaussian', 'sphere'); "
                f"got n_directions={params['n_directions']!r}, antithetic={params['antithetic']!r} with "
                f"estimator={params['estimator']!r}"
            )
        if mask is not None:  # a JSON-friendly copy (the journal stores the hyperparameters as JSON)
            self.mask = np.asarray(mask).tolist()
        lo, hi = self.space.encoded_lower, self.space.encoded_upper
        smoothing = params.get("smoothing")
        if smoothing is None:
            if not self.space.bounded:
                raise InvalidParameterError(f"{owner}: on an unbounded space give 'smoothing' (the default is relative to the box)")
            smoothing = SMOOTHING_REL * float(np.mean(hi - lo))
        self.estimator_ = make_estimator(
            params["estimator"], smoothing, n_directions=params["n_directions"], antithetic=params["antithetic"],
            mask=mask, n_coordinates=params.get("n_coordinates"),
        )
        self.estimator_.check_dim(self.dim)
        self.x_ = self._initial_point(params.get("x0"))
        self.t_ = 0  # steps taken
        self.last_estimate_: np.ndarray | None = None  # the gradient estimate of the last step
        self._rounds: list[dict] = []

    def _initial_point(self, x0) -> np.ndarray:
        """``x0`` (user space) encoded, or a uniformly random point of the box. Outside the box: an error."""
        return encoded_start(self.space, x0, self.rng, type(self).__name__,
                             unbounded="(the default is a random point of the box)",
                             outside="the box (zeroth-order methods raise rather than project it)")

    # -- what a method implements --------------------------------------------------------------
    @abc.abstractmethod
    def _step(self, g: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The next iterate (before the projection) from the estimate ``g`` at the iterate ``x``."""

    def _state(self) -> dict:
        return {}

    def _load(self, state: dict) -> None:
        """Restore what :meth:`_state` returned."""

    def learning_rate(self) -> float:
        """The step size of the next step: ``lr / (t + 1)^lr_decay``."""
        return self.lr / (self.t_ + 1.0) ** self.lr_decay

    # -- rounds --------------------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        return self.estimator_.cost(self.dim)

    @property
    def iterate(self) -> np.ndarray:
        """The current iterate in the user's space (d,)."""
        return self.space.decode(self.x_[None, :])[0]

    def _new_round(self) -> dict:
        lo, hi = self.space.encoded_lower, self.space.encoded_upper
        P = self.estimator_.directions(self.rng, self.x_, lo, hi)
        center = self.estimator_.needs_center
        if center:
            P = np.vstack([self.x_[None, :], P])
        r = _round(self.x_.copy(), clip(P, lo, hi), center)
        r["slots"] = _slots(r)
        self._rounds.append(r)
        return r

    def _ask(self, n: int) -> np.ndarray:
        out: list[np.ndarray] = []
        for r in self._rounds:
            free = np.flatnonzero(~r["asked"])[: n - len(out)]
            r["asked"][free] = True
            out.extend(r["P"][free])
        while len(out) < n:
            r = self._new_round()
            take = np.arange(min(n - len(out), r["P"].shape[0]))
            r["asked"][take] = True
            out.extend(r["P"][take])
        return np.array(out)

    def _tell(self, Z, y, C) -> None:
        self._assign(Z, y)

    def _discard(self, Z) -> None:
        self._assign(Z, None)

    def _assign(self, Z: np.ndarray, y) -> None:
        exact = _key_index(self.dim) is None
        for i, z in enumerate(Z):
            key = _key(z)
            for r in self._rounds:
                slots = r["slots"].get(key)
                if not slots:
                    continue
                at = 0 if exact else next((a for a, j in enumerate(slots) if np.array_equal(r["P"][j], z)), None)
                if at is None:
                    continue
                j = slots.pop(at)
                r["done"][j] = True
                r["values"][j] = np.nan if y is None else y[i]
                break
        while self._rounds and self._rounds[0]["done"].all():
            self._finish(self._rounds.pop(0))

    def _finish(self, r: dict) -> None:
        v = r["values"]
        if r["center"]:
            f_x, P, v = v[0], r["P"][1:], v[1:]
        else:
            f_x, P = np.nan, r["P"]
        g = self.estimator_.estimate(r["x"], f_x, P, v)
        self.last_estimate_ = g
        x = self._step(g, self.x_)
        self.x_ = clip(np.asarray(x, dtype=np.float64), self.space.encoded_lower, self.space.encoded_upper)
        self.t_ += 1

    def result_extras(self) -> dict:
        return {"x_iterate": self.iterate, "n_steps": self.t_}

    # -- state ---------------------------------------------------------------------------------
    def _get_state(self) -> dict:
        rounds = [{k: v for k, v in r.items() if k != "slots"} for r in self._rounds]
        return {"x": self.x_, "t": self.t_, "rounds": rounds, "own": self._state()}

    def _set_state(self, state: dict) -> None:
        self.x_ = np.asarray(state["x"], dtype=np.float64)
        self.t_ = int(state["t"])
        self._rounds = []
        for s in state["rounds"]:
            r = {"x": np.asarray(s["x"], dtype=np.float64), "P": np.asarray(s["P"], dtype=np.float64),
                 "center": bool(s["center"]), "values": np.asarray(s["values"], dtype=np.float64),
                 "done": np.asarray(s["done"], dtype=bool), "asked": np.asarray(s["asked"], dtype=bool)}
            r["slots"] = _slots(r)
            self._rounds.append(r)
        self._load(state["own"])

"""The small torch environment every model and acquisition computation runs in.

* float64 everywhere (``DTYPE``), on the CPU, with explicit dtypes so the user's default dtype and
  device are never consulted or changed;
* one intra-op thread while a computation runs (``compute()``): the matrices of GP-BO are small
  (hundreds of rows), where torch's thread pool costs more than it gains and makes results depend
  on the thread count; the user's setting is restored on exit;
* no randomness from torch: every random number comes from a ``numpy.random.Generator`` and is
  turned into a tensor (``tensor``), so torch's global seed never matters and is never touched.
"""

from __future__ import annotations

import contextlib
import threading
import warnings

import numpy as np
import torch
from threadpoolctl import threadpool_limits

DTYPE = torch.float64
DEVICE = torch.device("cpu")

_lock = threading.RLock()
_depth = 0


def tensor(a) -> torch.Tensor:
    """``a`` (array-like) as a float64 CPU tensor (no copy when it already is one)."""
    if isinstance(a, torch.Tensor):
        return a.to(dtype=DTYPE, device=DEVICE)
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=DTYPE, device=DEVICE)


def numpy(t: torch.Tensor) -> np.ndarray:
    """A detached float64 numpy copy of ``t``."""
    return t.detach().to(dtype=DTYPE, device=DEVICE).numpy().copy()


@contextlib.contextmanager
def compute():
    """Run torch code single-threaded with warnings silenced; restore the thread count after.

    Re-entrant; a lock keeps two threads of one process from interleaving their thread settings.
    """
    global _depth
    with _lock:
        outer = _depth == 0
        saved = torch.get_num_threads() if outer else None
        _depth += 1
        try:
            if outer and saved != 1:
                torch.set_num_threads(1)
            with warnings.catch_warnings(), (threadpool_limits(1) if outer else contextlib.nullcontext()):
                warnings.simplefilter("ignore")
                yield
        finally:
            _depth -= 1
            if outer and saved != 1:
                torch.set_num_threads(saved)

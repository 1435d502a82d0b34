"""State dicts as JSON plus numpy arrays (never pickle).

A state is a nested structure of dicts, lists, JSON scalars and numpy arrays. :func:`dumps` splits it
into a JSON text (arrays replaced by ``{"__array__": key}``) and an ``.npz`` byte string;
:func:`loads` joins them back.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from optkit.core.errors import StateError


def _split(obj, arrays: dict):
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, dict):
        return {str(k): _split(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_split(v, arrays) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise StateError(f"state values must be JSON scalars, lists, dicts or numpy arrays; got {type(obj).__name__}")


def _join(obj, arrays):
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return np.array(arrays[obj["__array__"]])
        return {k: _join(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join(v, arrays) for v in obj]
    return obj


def dumps(state: dict) -> tuple[str, bytes]:
    """``state`` as (JSON text, npz bytes)."""
    arrays: dict = {}
    text = json.dumps(_split(state, arrays), allow_nan=True)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return text, buf.getvalue()


def loads(text: str, blob: bytes) -> dict:
    """Inverse of :func:`dumps`."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        return _join(json.loads(text), arrays)
    except (ValueError, OSError, KeyError) as exc:
        raise StateError(f"cannot read a saved state: {exc}") from exc


def save(state: dict, path) -> None:
    """Write ``state`` to ``path.json`` and ``path.npz``."""
    text, blob = dumps(state)
    path = Path(path)
    path.with_suffix(".json").write_text(text)
    path.with_suffix(".npz").write_bytes(blob)


def load(path) -> dict:
    """Read a state written by :func:`save`."""
    path = Path(path)
    return loads(path.with_suffix(".json").read_text(), path.with_suffix(".npz").read_bytes())

"""Population methods. For now: ``pycma``, a thin wrapper of the reference ``cma`` package."""

"""Baselines every comparison needs: uniform random search and quasi-random (Sobol, LHS) designs."""

from optkit.baselines.sampling import LHSSearch, RandomSearch, SobolSearch

__all__ = ["LHSSearch", "RandomSearch", "SobolSearch"]

"""Local methods from scipy.optimize (Nelder-Mead, Powell, L-BFGS-B) turned into ask/tell, with restarts."""

from optkit.local.scipy_local import LBFGSB, NelderMead, Powell

__all__ = ["LBFGSB", "NelderMead", "Powell"]

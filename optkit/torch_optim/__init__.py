"""PyTorch versions of optkit's Sophia, Cautious AdamW / Lion, Grams, Gravity and PSPS.

Each class is a :class:`torch.optim.Optimizer` with the update rule of the numpy optimizer of the same
name (see ``docs/torch-optim.md`` for the differences in conventions). Importing this package imports
torch (the ``rl`` extra); ``import optkit`` does not import it.
"""

from optkit.torch_optim.first_order import CAdamW, CLion, Grams, Gravity
from optkit.torch_optim.psps import PSPS
from optkit.torch_optim.sophia import Sophia, sample_labels

__all__ = ["CAdamW", "CLion", "Grams", "Gravity", "PSPS", "Sophia", "sample_labels"]

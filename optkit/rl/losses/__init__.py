"""The loss zoo, factorized: advantages x surrogates x aggregation x KL x shaping/selection, plus the
preference losses and TRPO pieces. Registries (name -> function) live in each module; presets in
:mod:`optkit.rl.presets` pick parts by name.
"""

from . import advantages, aggregation, kl, preference, selection, shaping, special, surrogates, trpo  # noqa: F401
from .policy import policy_loss
from .preference import preference_loss

__all__ = ["policy_loss", "preference_loss", "advantages", "aggregation", "kl", "preference", "selection", "shaping",
           "special", "surrogates", "trpo"]

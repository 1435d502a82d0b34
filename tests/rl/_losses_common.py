"""Tiny batch builders shared by tests/rl/test_losses_*.py."""

import torch

from optkit.rl.batch import PreferencePairs, Rollouts

torch.set_num_threads(1)


def rollouts(rewards, logp, old_logp=None, mask=None, group_size=None, **kw):
    rewards = torch.as_tensor(rewards, dtype=torch.float64)
    logp = torch.as_tensor(logp, dtype=torch.float64)
    B = logp.shape[0]
    mask = torch.ones_like(logp) if mask is None else torch.as_tensor(mask, dtype=torch.float64)
    old = logp.detach().clone() if old_logp is None else torch.as_tensor(old_logp, dtype=torch.float64)
    G = B if group_size is None else group_size
    return Rollouts(logp=logp, old_logp=old, mask=mask, rewards=rewards, group=torch.arange(B) // G, group_size=G, **kw)


def pairs(lw, ll, rw=None, rl=None, **kw):
    def t(x):
        return None if x is None else torch.as_tensor(x, dtype=torch.float64)
    lw, ll = t(lw), t(ll)
    return PreferencePairs(chosen_logp=lw, rejected_logp=ll, chosen_mask=torch.ones_like(lw),
                           rejected_mask=torch.ones_like(ll), ref_chosen_logp=t(rw), ref_rejected_logp=t(rl), **kw)

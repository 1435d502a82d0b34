"""GRPO on the testbed in seconds: a tabular contextual bandit, then a tiny transformer on string reversal.

    python examples/rl_grpo.py
"""

import torch

from optkit.rl.policies import TabularPolicy
from optkit.rl.reference import reference_policy
from optkit.rl.tasks import ContextualBandit, make_task
from optkit.rl.trainer import Trainer

torch.set_num_threads(1)

# 1. a contextual bandit: 16 contexts, 8 actions, one pays 1; G = 8 responses per context
bandit = ContextualBandit(16, 8, seed=0)
trainer = Trainer(TabularPolicy(16, 8), bandit, "grpo", lr=0.3, group_size=8, prompts_per_step=16, seed=0)
for m in trainer.run(60)[::15]:
    print(f"bandit step {m['step']:3d}: reward {m['reward']:.2f}, entropy {m['entropy']:.2f} nats, "
          f"exact KL to start {m['kl_exact']:.2f} (k1 {m['kl_k1']:.2f}, k3 {m['kl_k3']:.2f}), "
          f"degenerate groups {m['degenerate_frac']:.2f}")

# 2. reverse a 2-4 letter string: supervised warm start into the 20-60 % band, then GRPO
task = make_task("reverse", min_len=2, max_len=4)
ref, info = reference_policy(task, band=(0.2, 0.6), lr=3e-3, batch_size=32, eval_every=25, max_steps=1500)
print(f"warm start: {info['steps']} SFT steps, greedy test accuracy {info['test_accuracy']:.2f}")
trainer = Trainer(ref, task, "grpo", lr=2e-3, group_size=8, prompts_per_step=16, seed=0, eval_every=20, eval_size=100,
                  knobs={"kl_coef": 0.0})
for m in trainer.run(60):
    if "test_accuracy" in m:
        print(f"reverse step {m['step']:3d}: train reward {m['reward']:.2f}, pass@4 {m['pass@4']:.2f}, "
              f"test accuracy {m['test_accuracy']:.2f}, {m['wall_time']:.1f} s")

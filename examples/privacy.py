"""Differentially private optimization: DP-SGD with a privacy budget, m-NGP and DIFF2 at the same
privacy, the accountant, private experts and private synthetic data.

    python examples/privacy.py
"""

import numpy as np

import optkit
from optkit.privacy import RDPAccountant, noise_multiplier_for
from optkit.privacy.diff2 import split_noise
from optkit.privacy.online_experts import follow_consistent_expert, realizable_losses, run_experts
from optkit.privacy.private_gsd import load_tabular, private_gsd

if __name__ == "__main__":
    p = optkit.problems.get("logreg_breast_cancer")   # 569 examples, per-example gradients

    # DP-SGD: Poisson batches of expected size 64, noise calibrated to (2, 1e-5) for 30 epochs
    q, steps = 64 / p.n_examples, 30 * p.n_examples // 64
    sigma = noise_multiplier_for(2.0, 1e-5, q, steps)
    opt = optkit.make("dp-sgd", p.space, lr=0.5, max_grad_norm=1.0, noise_multiplier=sigma, batch_size=64,
                      delta=1e-5, target_epsilon=2.0, seed=0)
    res = opt.minimize(p, budget=10**7)
    print(f"dp-sgd  sigma={sigma:.3f}  steps={res.privacy_steps}  epsilon={res.epsilon:.4f}  F(x)-F*={res.fun - p.f_opt:.4f}")
    print("        ", res.message)
    print("         accountant agrees:", RDPAccountant(sigma, q).epsilon(res.privacy_steps, 1e-5) == res.epsilon)

    # full-batch methods at the same privacy: 100 rounds at epsilon = 2
    s = noise_multiplier_for(2.0, 1e-5, 1.0, 100)
    s1, s2 = split_noise(s, 10)
    runs = {
        "dp-gd": optkit.make("dp-sgd", p.space, lr=1.0, noise_multiplier=s, batch_size=None, target_epsilon=2.0, seed=0),
        "m-ngp": optkit.make("dp-ngp", p.space, lr=1.0, noise_multiplier=s, target_epsilon=2.0, seed=0),
        "diff2": optkit.make("diff2", p.space, lr=0.3, noise_multiplier=s1, diff_noise_multiplier=s2, restart=10,
                             diff_clip=2.0, target_epsilon=2.0, seed=0),
    }
    for name, o in runs.items():
        r = o.minimize(p, budget=10**7)
        print(f"{name:7} rounds={r.privacy_steps}  epsilon={r.epsilon:.4f}  F(x)-F*={r.fun - p.f_opt:.4f}")

    # private prediction from experts (realizable: one expert never errs)
    L, best = realizable_losses(20_000, 256, seed=0)
    priv, base = run_experts(L, epsilon=2.0, delta=1e-6, seed=0), follow_consistent_expert(L, seed=0)
    print(f"experts  private regret={priv.regret:.0f} (epsilon {priv.epsilon:.2f})  non-private={base.regret:.0f}  "
          f"random fixed expert={L.sum(axis=0).mean():.0f}")

    # private synthetic data matching the 2-way marginals of a discretized real table
    D, domain, names = load_tabular("breast_cancer", n_columns=8, bins=4)
    g = private_gsd(D, domain, epsilon=1.0, delta=1e-6, generations=2000, seed=0)
    print(f"gsd      {g.synthetic.shape[0]} synthetic rows, mean marginal error {g.error_mean:.4f} "
          f"(random rows: {g.baseline_error_mean:.4f}), epsilon {g.epsilon:.3f}")
    print("         first synthetic rows:", np.array2string(g.synthetic[:2]))

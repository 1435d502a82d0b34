"""Differential privacy benchmarks: accuracy vs epsilon, the accountants against Opacus, their runtime.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/privacy.py [--seeds 5] [--markdown]

1. Logistic regression on breast cancer (569 x 30, standardized, l2 = 1e-3): test-free training
   accuracy and loss gap ``F(x) - F*`` at epsilon in {0.5, 1, 2, 4, 8}, delta = 1e-5, for DP-SGD
   (Poisson batches of expected size 64, 30 epochs), DP-GD, m-NGP and DIFF2 (100 full-batch rounds),
   each calibrated to the epsilon with ``noise_multiplier_for`` (RDP) and stopped by
   ``target_epsilon``; beside the non-private optimum (Newton) and non-private GD (100 steps).
2. Opacus's own DP-SGD (if installed: ``make_private_with_epsilon``, Poisson loader, the same data,
   lr, clipping and epochs; its L2 term as weight decay) beside ours at Opacus's sigma and sample rate;
   the RDP accountant against Opacus's on the same settings, and the GDP / PRV values.
3. Accountant runtime for 10^4 steps, ours and Opacus's.
4. Private-GSD: mean query error of 2-way marginals vs epsilon; private experts: regret vs epsilon.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import optkit
from optkit.privacy.accountant import GDPAccountant, RDPAccountant, noise_multiplier_for
from optkit.privacy.diff2 import split_noise
from optkit.privacy.online_experts import follow_consistent_expert, realizable_losses, run_experts
from optkit.privacy.private_gsd import load_tabular, private_gsd
from optkit.problems.ml import _logistic_model

EPSILONS = (0.5, 1.0, 2.0, 4.0, 8.0)
DELTA = 1e-5


def accuracy_table(seeds: int) -> list[tuple]:
    p = optkit.problems.get("logreg_breast_cancer")
    m = _logistic_model("breast_cancer", 1e-3, 0.0)
    n = p.n_examples

    def acc(w):
        return float(np.mean(np.sign(m.X @ w) == m.y))

    rows = [("non-private optimum (Newton)", "-", acc(p.x_opt), 0.0, 0.0, "-")]
    gd = optkit.make("sgd", p.space, lr=1.0, batch_size=None, seed=0).minimize(p, 100 * n)
    rows.append(("non-private GD, 100 steps, lr 1", "-", acc(gd.x), 0.0, gd.fun - p.f_opt, "-"))
    q_sgd, steps_sgd = 64 / n, int(30 * n / 64)
    for eps in EPSILONS:
        s_sgd = noise_multiplier_for(eps, DELTA, q_sgd, steps_sgd)
        s_gd = noise_multiplier_for(eps, DELTA, 1.0, 100)
        s1, s2 = split_noise(s_gd, 10)
        configs = {
            "dp-sgd": ("dp-sgd", dict(lr=0.5, batch_size=64, noise_multiplier=s_sgd), f"sigma={s_sgd:.2f}"),
            "dp-gd": ("dp-sgd", dict(lr=1.0, batch_size=None, noise_multiplier=s_gd), f"sigma={s_gd:.2f}"),
            "m-ngp": ("dp-ngp", dict(lr=1.0, noise_multiplier=s_gd), f"sigma={s_gd:.2f}"),
            "m-ngp, C=4": ("dp-ngp", dict(lr=1.0, noise_multiplier=s_gd, max_grad_norm=4.0), f"sigma={s_gd:.2f}"),
            "diff2": ("diff2", dict(lr=0.3, noise_multiplier=s1, diff_noise_multiplier=s2, restart=10, diff_clip=2.0),
                      f"sigma1={s1:.2f}, sigma2={s2:.2f}"),
        }
        for label, (name, kw, note) in configs.items():
            accs, gaps, spent = [], [], []
            for seed in range(seeds):
                res = optkit.make(name, p.space, target_epsilon=eps, delta=DELTA, seed=seed,
                                  **{"max_grad_norm": 1.0, **kw}).minimize(p, 10**8)
                accs.append(acc(res.x))
                gaps.append(res.fun - p.f_opt)
                spent.append(res.epsilon)
            rows.append((label, eps, float(np.mean(accs)), float(np.std(accs)), float(np.mean(gaps)),
                         f"{note}; {res.privacy_steps} steps; spent {max(spent):.3f}"))
    return rows


def opacus_table(seeds: int) -> list[tuple]:
    """Opacus's DP-SGD (make_private_with_epsilon, Poisson loader) and ours with its sigma and sample rate."""
    try:
        import torch
        from opacus import PrivacyEngine
    except ImportError:
        return []
    torch.set_num_threads(1)
    p = optkit.problems.get("logreg_breast_cancer")
    m = _logistic_model("breast_cancer", 1e-3, 0.0)
    X, y01 = torch.tensor(m.X, dtype=torch.float32), torch.tensor((m.y > 0).astype(np.float32))
    rows = []
    for eps in (1.0, 2.0, 8.0):
        for seed in range(seeds):
            torch.manual_seed(seed)
            model = torch.nn.Linear(X.shape[1], 1, bias=False)
            torch.nn.init.zeros_(model.weight)
            opt = torch.optim.SGD(model.parameters(), lr=0.5, weight_decay=1e-3)
            loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y01), batch_size=64)
            engine = PrivacyEngine(accountant="rdp")
            model, opt, loader = engine.make_private_with_epsilon(
                module=model, optimizer=opt, data_loader=loader, target_epsilon=eps, target_delta=DELTA, epochs=30,
                max_grad_norm=1.0)
            loss_fn = torch.nn.BCEWithLogitsLoss()
            steps = 0
            for _ in range(30):
                for xb, yb in loader:
                    opt.zero_grad()
                    if len(xb):
                        loss_fn(model(xb).squeeze(-1), yb).backward()
                    opt.step()
                    steps += 1
            w = model._module.weight.detach().numpy().astype(np.float64).ravel()
            theirs = (float(np.mean(np.sign(m.X @ w) == m.y)), p.objective(w) - p.f_opt, engine.get_epsilon(DELTA))
            sigma, q = opt.noise_multiplier, 1 / len(loader)
            res = optkit.make("dp-sgd", p.space, lr=0.5, max_grad_norm=1.0, noise_multiplier=sigma, sample_rate=q,
                              batch_size=None, seed=seed).minimize(p, 10**8, callback=lambda r, k=steps: r.nit >= k)
            assert res.privacy_steps == steps
            ours = (float(np.mean(np.sign(m.X @ res.x) == m.y)), res.fun - p.f_opt, res.epsilon)
            rows.append((eps, seed, sigma, q, steps, *theirs, *ours))
    return rows


SETTINGS = [(1.1, 256 / 60000, 14040), (1.0, 0.01, 1000), (0.8, 0.05, 500), (4.0, 0.001, 10000), (2.0, 1.0, 100)]


def accountant_table() -> list[tuple]:
    try:
        from opacus.accountants import RDPAccountant as ORDP
        from opacus.accountants.analysis import rdp as ordp
        from opacus.accountants.prv import PRVAccountant
    except ImportError:
        ORDP = None
    rows = []
    for sigma, q, steps in SETTINGS:
        ours = RDPAccountant(sigma, q).epsilon(steps, DELTA)
        gdp = GDPAccountant(sigma, q).epsilon(steps, DELTA)
        theirs = prv = float("nan")
        if ORDP is not None:
            r = ordp.compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=ORDP.DEFAULT_ALPHAS)
            theirs = float(ordp.get_privacy_spent(orders=ORDP.DEFAULT_ALPHAS, rdp=r, delta=DELTA)[0])
            acc = PRVAccountant()
            acc.history = [(sigma, q, steps)]
            prv = float(acc.get_epsilon(delta=DELTA))
        rows.append((sigma, q, steps, ours, theirs, abs(ours - theirs) / theirs, gdp, prv))
    return rows


def runtime_table() -> list[tuple]:
    sigma, q, T = 1.0, 0.01, 10_000
    rows = []
    t = time.perf_counter()
    acc = RDPAccountant(sigma, q)
    eps = acc.epsilon(T, DELTA)
    rows.append(("optkit RDPAccountant(sigma, q).epsilon(10^4, delta)", time.perf_counter() - t, eps))
    t = time.perf_counter()
    for k in range(1, T + 1):  # what an optimizer does: epsilon after every step (the curve is computed once)
        acc.epsilon(k, DELTA)
    rows.append(("optkit: epsilon after each of 10^4 steps", time.perf_counter() - t, eps))
    t = time.perf_counter()
    s = noise_multiplier_for(1.0, DELTA, q, T)
    rows.append(("optkit noise_multiplier_for(1, 1e-5, 0.01, 10^4)", time.perf_counter() - t, s))
    try:
        from opacus.accountants import RDPAccountant as ORDP
        from opacus.accountants.utils import get_noise_multiplier
    except ImportError:
        return rows
    t = time.perf_counter()
    o = ORDP()
    for _ in range(T):
        o.step(noise_multiplier=sigma, sample_rate=q)
    e = o.get_epsilon(DELTA)
    rows.append(("opacus RDPAccountant: 10^4 step() + get_epsilon", time.perf_counter() - t, e))
    t = time.perf_counter()
    s = get_noise_multiplier(target_epsilon=1.0, target_delta=DELTA, sample_rate=q, steps=T)
    rows.append(("opacus get_noise_multiplier (epsilon_tolerance 0.01)", time.perf_counter() - t, s))
    return rows


def gsd_and_experts(seeds: int) -> tuple[list, list]:
    D, dom, _ = load_tabular("breast_cancer", n_columns=8, bins=4)
    gsd = []
    for eps in (None, 8.0, 2.0, 1.0, 0.5):
        r = [private_gsd(D, dom, epsilon=eps, delta=1e-6, generations=2000, seed=s) for s in range(seeds)]
        gsd.append((eps, float(np.mean([x.error_mean for x in r])), float(np.mean([x.error_max for x in r])),
                    r[0].baseline_error_mean))
    experts = []
    for eps in (1.0, 2.0, 5.0, 10.0):
        reg, base, fixed = [], [], []
        for s in range(seeds):
            L, _ = realizable_losses(20_000, 256, seed=s)
            reg.append(run_experts(L, epsilon=eps, delta=1e-6, seed=s).regret)
            base.append(follow_consistent_expert(L, seed=s).regret)
            fixed.append(L.sum(axis=0).mean())
        experts.append((eps, float(np.mean(reg)), float(np.mean(base)), float(np.mean(fixed))))
    return gsd, experts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    print("### Accuracy vs epsilon, logistic regression on breast cancer (delta = 1e-5)\n")
    print("| method | epsilon | train accuracy (mean) | std | F(x) - F* | setting |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, eps, a, sd, gap, note in accuracy_table(args.seeds):
        print(f"| {label} | {eps} | {a:.4f} | {sd:.4f} | {gap:.4f} | {note} |")
    rows = opacus_table(min(args.seeds, 3))
    if rows:
        print("\n### DP-SGD side by side with Opacus (30 epochs, expected batch 64, lr 0.5, C = 1, delta = 1e-5)\n")
        print("| target epsilon | sigma (Opacus) | q | steps | Opacus accuracy | Opacus F(x) - F* | Opacus epsilon "
              "| optkit accuracy | optkit F(x) - F* | optkit epsilon |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for eps in sorted({r[0] for r in rows}):
            sub = np.array([r[2:] for r in rows if r[0] == eps], dtype=np.float64)
            mean = sub.mean(axis=0)
            print(f"| {eps} | {mean[0]:.3f} | {mean[1]:.4f} | {mean[2]:.0f} | {mean[3]:.4f} | {mean[4]:.4f} | "
                  f"{mean[5]:.4f} | {mean[6]:.4f} | {mean[7]:.4f} | {mean[8]:.4f} |")
    print("\n### RDP accountant vs Opacus (delta = 1e-5)\n")
    print("| sigma | q | steps | optkit RDP | Opacus RDP | rel. diff | optkit GDP | Opacus PRV |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for sigma, q, steps, ours, theirs, rel, gdp, prv in accountant_table():
        print(f"| {sigma} | {q:.5g} | {steps} | {ours:.6f} | {theirs:.6f} | {rel:.1e} | {gdp:.4f} | {prv:.4f} |")
    print("\n### Accountant runtime (sigma = 1, q = 0.01, 10^4 steps)\n")
    print("| call | seconds | result |")
    print("| --- | --- | --- |")
    for what, sec, val in runtime_table():
        print(f"| {what} | {sec:.4f} | {val:.5f} |")
    gsd, experts = gsd_and_experts(min(args.seeds, 3))
    print("\n### Private-GSD, 2-way marginals of breast cancer (8 features x 4 bins + label), 300 rows, 2000 generations\n")
    print("| epsilon | mean abs. error | max abs. error | random synthetic data (mean) |")
    print("| --- | --- | --- | --- |")
    for eps, mean, mx, base in gsd:
        print(f"| {'none (exact answers)' if eps is None else eps} | {mean:.4f} | {mx:.4f} | {base:.4f} |")
    print("\n### Private experts, realizable (T = 20000, d = 256, delta = 1e-6)\n")
    print("| epsilon | private regret | non-private baseline | random fixed expert |")
    print("| --- | --- | --- | --- |")
    for eps, reg, base, fixed in experts:
        print(f"| {eps} | {reg:.1f} | {base:.1f} | {fixed:.1f} |")


if __name__ == "__main__":
    main()

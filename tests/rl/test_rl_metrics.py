"""Metrics: unbiased pass@k against hand values and brute force; exact KL / entropy against brute force."""

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from optkit.core.errors import InvalidParameterError  # noqa: E402
from optkit.rl.metrics import exact_kl, group_stats, kl_estimates, maj_at_k, pass_at_k  # noqa: E402
from optkit.rl.policies import TinyGPT, token_stats  # noqa: E402

torch.set_num_threads(1)


def test_pass_at_k_hand_values():
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(8, 6, 3) == 1.0
    with pytest.raises(InvalidParameterError):
        pass_at_k(4, 5, 1)


@pytest.mark.parametrize("n, c, k", [(6, 2, 3), (8, 1, 4), (7, 3, 2)])
def test_pass_at_k_equals_the_subset_average(n, c, k):
    flags = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    brute = np.mean([any(flags[i] for i in s) for s in subsets])
    assert pass_at_k(n, c, k) == pytest.approx(brute)


def test_maj_at_k_and_group_stats():
    assert maj_at_k(["a", "b", "b", None], [True, False, False, False], 4) == 0.0
    assert maj_at_k(["a", "a", "b", None], [True, True, False, False], 4) == 1.0
    # k=3 of 4: subsets {0,1,2},{0,1,3},{0,2,3},{1,2,3}: winners a, a, a (first of a tie), a... -> hand count
    assert maj_at_k(["a", "a", "b", "b"], [True, True, False, False], 3) == pytest.approx(0.5)
    st = group_stats(np.array([1, 1, 0, 0, 1, 0]), np.array([1, 1, 0, 0, 1, 0], bool), list("aabbac"), 3, ks=(1, 2))
    assert st["pass@1"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert st["degenerate_frac"] == 0.0
    st = group_stats(np.array([1, 1, 0, 0]), np.array([1, 1, 0, 0], bool), list("aabb"), 2, ks=(1,))
    assert st["degenerate_frac"] == 1.0 and st["degenerate_all_correct"] == 0.5 and st["degenerate_all_wrong"] == 0.5


def test_exact_kl_and_entropy_on_a_tabular_distribution():
    p = torch.tensor([0.5, 0.25, 0.125, 0.125])
    q = torch.tensor([0.25, 0.25, 0.25, 0.25])
    kl = exact_kl(p.log()[None], q.log()[None])
    assert kl.item() == pytest.approx(sum(pi * math.log(pi / qi) for pi, qi in zip(p.tolist(), q.tolist())), abs=1e-6)
    _, ent = token_stats(p.log()[None, None], torch.tensor([[0]]))
    assert ent.item() == pytest.approx(1.75 * math.log(2), abs=1e-6)
    # the sampled estimators: k1 and k3 are unbiased for the KL, their sample means converge to it
    gen = torch.Generator().manual_seed(0)
    a = torch.multinomial(p, 200_000, replacement=True, generator=gen)
    est = kl_estimates(p.log()[a][None], q.log()[a][None], torch.ones(1, len(a)))
    assert est["kl_k1"] == pytest.approx(kl.item(), abs=0.01)
    assert est["kl_k3"] == pytest.approx(kl.item(), abs=0.01)


def test_per_token_exact_kl_sums_to_the_sequence_kl_by_brute_force():
    """Sum over positions of the exact per-position KL, averaged under pi, equals the KL between the
    distributions over whole responses, computed by enumerating all V^T responses."""
    v, t = 4, 3
    pol, ref = TinyGPT(v, d_model=16, n_layers=1, n_heads=2, max_len=8, seed=1), TinyGPT(v, d_model=16, n_layers=1,
                                                                                         n_heads=2, max_len=8, seed=2)
    prompt, pmask = torch.tensor([[1, 2]]), torch.ones(1, 2, dtype=torch.bool)
    seqs = torch.tensor(list(itertools.product(range(v), repeat=t)))
    with torch.no_grad():
        lp, _ = pol.response_logits(prompt, pmask, seqs, num_samples=len(seqs), shared_prefix=False)
        lq, _ = ref.response_logits(prompt, pmask, seqs, num_samples=len(seqs), shared_prefix=False)
    logp = token_stats(lp, seqs)[0].sum(1)
    logq = token_stats(lq, seqs)[0].sum(1)
    probs = logp.exp()
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-5)
    seq_kl = (probs * (logp - logq)).sum().item()
    per_token = (probs * exact_kl(lp, lq).sum(1)).sum().item()
    assert per_token == pytest.approx(seq_kl, rel=1e-4, abs=1e-6)
    # entropy: the chain rule gives the sequence entropy the same way
    _, ent = token_stats(lp, seqs)
    assert (probs * ent.sum(1)).sum().item() == pytest.approx(-(probs * logp).sum().item(), rel=1e-4)

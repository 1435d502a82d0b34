"""Presets: lookup and knob errors, every preset end-to-end on a tiny batch, TRPO natural-gradient pieces."""

import math
from pathlib import Path

import pytest
import torch
from _losses_common import pairs, rollouts

from optkit.core.errors import InvalidParameterError, OptkitError, UnknownNameError
from optkit.rl.batch import PreferencePairs, Rollouts
from optkit.rl.losses import trpo
from optkit.rl.presets import PRESETS, describe_defaults, get_preset, resolve_knobs

torch.set_num_threads(1)


def t(x):
    return torch.tensor(x, dtype=torch.float64)


def test_unknown_preset_suggests_closest():
    with pytest.raises(UnknownNameError, match="Did you mean .*'grpo'"):
        get_preset("gpro")
    with pytest.raises(UnknownNameError, match="dr_grpo"):
        get_preset("drgrpo")


def test_unknown_and_bad_knobs():
    with pytest.raises(InvalidParameterError, match="Unknown knob 'clip_epsilon'.*clip_eps"):
        resolve_knobs("grpo", {"clip_epsilon": 0.1})
    with pytest.raises(InvalidParameterError, match="clip_eps"):
        resolve_knobs("grpo", {"clip_eps": -0.1})
    with pytest.raises(UnknownNameError, match="advantage"):
        resolve_knobs("grpo", {"advantage": "rlo"})
    with pytest.raises(UnknownNameError, match="shaping"):
        resolve_knobs("grpo", {"shaping": ("overlng",)})
    with pytest.raises(InvalidParameterError, match="kl_estimator"):
        resolve_knobs("grpo", {"kl_estimator": "k4"})
    with pytest.raises(InvalidParameterError, match="label_smoothing"):
        resolve_knobs("rdpo", {"label_smoothing": 0.5})
    with pytest.raises(InvalidParameterError, match="scale_rewards"):
        resolve_knobs("grpo", {"scale_rewards": "groups"})
    with pytest.raises(InvalidParameterError, match="overlong_buffer"):
        resolve_knobs("dapo", {"overlong_buffer": 0})
    with pytest.raises(InvalidParameterError, match="ppo_epochs"):
        resolve_knobs("ppo", {"ppo_epochs": 1.5})
    k = resolve_knobs("grpo", {"clip_eps": 0.1, "_state": {}})
    assert k["clip_eps"] == 0.1 and k["aggregation"] == "seq_mean_token_mean" and "_state" in k


def test_unknown_part_names_in_direct_calls():
    from optkit.rl.losses import policy_loss, preference_loss

    r = rollouts([1.0, 0.0], torch.zeros(2, 1), group_size=2)
    with pytest.raises(UnknownNameError, match="Did you mean 'rloo'"):
        policy_loss(r, {"advantage": "rlo"})
    with pytest.raises(UnknownNameError, match="aggregation"):
        policy_loss(r, {"aggregation": "mean"})
    with pytest.raises(UnknownNameError, match="pref_loss"):
        preference_loss(pairs([[0.0]], [[0.0]]), {"pref_loss": "dpoo"})
    with pytest.raises(UnknownNameError, match="shaping"):
        get_preset("grpo").shape_rewards(r, {"shaping": ("overlng",)})


def test_group_size_nonfinite_and_kind_errors():
    g = get_preset("grpo")
    r = rollouts([1.0, 0.0], torch.zeros(2, 2), group_size=1)
    with pytest.raises(InvalidParameterError, match="group_size"):
        g.loss(r, {})
    r = rollouts([1.0, float("nan")], torch.zeros(2, 2), group_size=2)
    with pytest.raises(OptkitError, match="finite"):
        g.shape_rewards(r, {})
    with pytest.raises(InvalidParameterError, match="PreferencePairs"):
        get_preset("dpo").loss(r, {})
    with pytest.raises(InvalidParameterError, match="Rollouts"):
        g.loss(pairs([[0.0]], [[0.0]]), {})


def test_reference_requirements():
    assert get_preset("grpo").requires_reference() and not get_preset("dapo").requires_reference()
    assert get_preset("grpo").requires_reference({"kl_coef": 0.0}) is False
    assert get_preset("dpo").needs_reference and not get_preset("simpo").needs_reference
    assert get_preset("ppo").needs_critic and get_preset("trpo").update_rule == "trpo"
    assert get_preset("sppo").ref_refresh and get_preset("online_dpo").online_pairs


def _batch(P=2, G=4, T=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(P * G, T, 3, generator=g, dtype=torch.float64, requires_grad=True)
    logp_all = torch.log_softmax(theta, -1)
    logp = logp_all[..., 0]
    old = logp.detach() + 0.02 * torch.randn(P * G, T, generator=g, dtype=torch.float64)
    mask = torch.ones(P * G, T, dtype=torch.float64)
    mask[1, 2:] = 0
    mask[6, 1:] = 0
    rew = t([1, 0, 1, 0, 1, 1, 1, 0])
    ent = -(logp_all.exp() * logp_all).sum(-1)
    r = Rollouts(logp=logp, old_logp=old, mask=mask, rewards=rew, group=torch.arange(P).repeat_interleave(G), group_size=G,
                 ref_logp=old - 0.05, entropy=ent, values=torch.zeros(P * G, T, dtype=torch.float64, requires_grad=True),
                 old_values=torch.zeros(P * G, T, dtype=torch.float64), correct=rew > 0, lengths=mask.sum(1).long(),
                 max_length=T)
    return r, theta


@pytest.mark.parametrize("name", sorted(n for n, p in PRESETS.items() if p.kind == "policy"))
def test_every_policy_preset_trains_on_a_tiny_batch(name):
    p = get_preset(name)
    r, theta = _batch()
    k = resolve_knobs(p, {"_state": {"prompt_ids": torch.tensor([0, 1])}})
    if name == "mo_grpo":
        r.rewards = torch.stack([r.rewards, 0.5 * r.rewards], 1)
    r.rewards = p.shape_rewards(r, k)
    assert r.rewards.shape == (8,) and torch.isfinite(r.rewards).all()
    keep = p.select(r, k)
    assert keep.dtype == torch.bool and keep.shape == (8,) and keep.any()
    out = p.loss(r, k)
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    assert all(isinstance(v, float) for v in out.metrics.values())
    out.loss.backward()
    assert theta.grad is not None and float(theta.grad.abs().sum()) > 0


@pytest.mark.parametrize("name", sorted(n for n, p in PRESETS.items() if p.kind == "preference"))
def test_every_preference_preset_trains(name):
    p = get_preset(name)
    th = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    lw = torch.nn.functional.logsigmoid(th)
    pp = PreferencePairs(chosen_logp=lw, rejected_logp=lw.detach() - 0.3, chosen_mask=torch.ones(3, 4, dtype=torch.float64),
                         rejected_mask=torch.ones(3, 4, dtype=torch.float64), ref_chosen_logp=lw.detach() - 0.1,
                         ref_rejected_logp=lw.detach() - 0.2, chosen_reward=t([1.0, 0.8, 0.6]), rejected_reward=t([0.0, 0.1, 0.5]))
    out = p.loss(pp, resolve_knobs(p, {}))
    assert torch.isfinite(out.loss)
    out.loss.backward()
    assert float(th.grad.abs().sum()) > 0


def test_presets_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "rl-presets.md").read_text()
    for name, p in PRESETS.items():
        assert f"`{name}`" in doc, name
        assert describe_defaults(name) in doc, f"docs/rl-presets.md: defaults of {name!r} out of date"
        assert p.paper in doc, name


def test_cppo_trains_on_partial_groups_after_pruning():
    p = get_preset("cppo")
    r, theta = _batch()
    k = resolve_knobs(p, {"prune_rate": 0.75})  # G = 4 -> keep 1 per group
    r.rewards = p.shape_rewards(r, k)
    keep = p.select(r, k)
    assert int(keep.sum()) == 2
    rows = torch.nonzero(keep).reshape(-1)
    sub = Rollouts(logp=r.logp[rows], old_logp=r.old_logp[rows], mask=r.mask[rows], rewards=r.rewards[rows],
                   group=torch.arange(2), group_size=4, ref_logp=r.ref_logp[rows])
    out = p.loss(sub, k)
    out.loss.backward()
    assert float(theta.grad.abs().sum()) > 0
    # the kept rows carry the advantages of their FULL groups: rewards (1,0,1,0) -> +-0.866, (1,1,1,0) -> -1.5
    assert sorted(round(float(a), 3) for a in sub.rewards) == [-1.5, 0.866]


def test_conjugate_gradient_matches_solve():
    g = torch.Generator().manual_seed(0)
    M = torch.randn(5, 5, generator=g, dtype=torch.float64)
    F = M @ M.T + 0.5 * torch.eye(5, dtype=torch.float64)
    b = torch.randn(5, generator=g, dtype=torch.float64)
    x = trpo.conjugate_gradient(lambda v: F @ v, b, iters=20)
    assert torch.allclose(x, torch.linalg.solve(F, b), atol=1e-8)


def test_trpo_natural_gradient_on_tabular_bandit_with_exact_fisher():
    K = 4
    theta = torch.tensor([0.3, -0.2, 0.1, 0.0], dtype=torch.float64, requires_grad=True)
    A = t([1.0, -0.5, 0.2, -0.7])
    pi_old = torch.softmax(theta.detach(), 0)

    def loss_fn():  # -E_old[rho A] = -sum_a pi(a) A(a)
        return -(torch.softmax(theta, 0) * A).sum()

    def kl_fn():  # exact KL(pi_old || pi_theta)
        return (pi_old * (pi_old.log() - torch.log_softmax(theta, 0))).sum()

    damping = 1e-3
    fvp = trpo.make_fvp(kl_fn, [theta], damping)
    Fexact = torch.diag(pi_old) - torch.outer(pi_old, pi_old)  # Fisher of a softmax in its logits
    v = t([0.5, -1.0, 0.2, 0.3])
    assert torch.allclose(fvp(v), Fexact @ v + damping * v, atol=1e-10)
    g = torch.autograd.grad(loss_fn(), theta)[0]
    step, expected = trpo.natural_gradient_step(g, fvp, max_kl=0.01, cg_iters=K * 5)
    s = torch.linalg.solve(Fexact + damping * torch.eye(K, dtype=torch.float64), g)
    assert torch.allclose(step, -math.sqrt(0.02 / float(s @ (Fexact @ s + damping * s))) * s, atol=1e-8)
    assert 0.5 * float(step @ (Fexact @ step + damping * step)) == pytest.approx(0.01)  # on the quadratic KL sphere
    assert expected == pytest.approx(-float(g @ step)) and expected > 0
    info = trpo.trpo_step([theta], loss_fn, kl_fn, max_kl=0.01, damping=damping)
    assert info["trpo_accepted"] == 1.0 and info["kl"] <= 0.01 and info["loss_after"] < info["loss_before"]
    assert info["trpo_frac"] >= 0.25

"""The trainer: a tiny GRPO run on the bandit improves the reward; metrics are exact; bad input is rejected."""

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from optkit.core.errors import InvalidParameterError, OptkitError, UnknownNameError  # noqa: E402
from optkit.rl.policies import TabularPolicy, TinyGPT  # noqa: E402
from optkit.rl.presets import get_preset  # noqa: E402
from optkit.rl.reference import make_policy  # noqa: E402
from optkit.rl.tasks import ContextualBandit, make_task  # noqa: E402
from optkit.rl.trainer import Trainer  # noqa: E402

torch.set_num_threads(1)


def bandit():
    return ContextualBandit(16, 8, seed=0)


def test_grpo_on_the_bandit_improves_the_reward(tmp_path):
    task = bandit()
    log = tmp_path / "log.jsonl"
    tr = Trainer(TabularPolicy(16, 8), task, "grpo", lr=0.3, group_size=8, prompts_per_step=16, seed=0, eval_every=20,
                 log_path=log)
    hist = tr.run(60)
    first = np.mean([m["reward"] for m in hist[:5]])
    last = np.mean([m["reward"] for m in hist[-5:]])
    assert first < 0.3 and last > 0.9
    assert hist[-1]["test_accuracy"] == 1.0
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(lines) == 60 and lines[-1]["step"] == 60 and lines[-1]["reward"] == hist[-1]["reward"]
    for key in ("reward", "accuracy", "pass@1", "pass@4", "pass@8", "maj@4", "entropy", "kl_exact", "kl_k1", "kl_k2",
                "kl_k3", "degenerate_frac", "response_length", "wall_time", "tokens", "grad_norm", "clip_frac"):
        assert key in hist[-1], key
    assert hist[-1]["tokens"] == 60 * 16 * 8


def test_same_seed_same_run():
    runs = []
    for _ in range(2):
        tr = Trainer(TabularPolicy(16, 8), bandit(), "grpo", lr=0.3, seed=3)
        runs.append([m["reward"] for m in tr.run(5)])
    assert runs[0] == runs[1]


def test_exact_entropy_and_kl_metrics_equal_the_tabular_brute_force():
    task = bandit()
    gen = torch.Generator().manual_seed(1)
    pol = TabularPolicy(16, 8, init_logits=torch.randn(16, 8, generator=gen))
    ref = TabularPolicy(16, 8, init_logits=torch.randn(16, 8, generator=gen))
    tr = Trainer(pol, task, "grpo", lr=1e-9, group_size=8, prompts_per_step=16, reference=ref, seed=0)
    # the metrics of a step are taken at sampling time, before the update
    contexts = task.sample(np.random.default_rng(0), 16)
    p, q = pol.probs().detach(), ref.probs().detach()
    m = tr.step()
    ctx = torch.tensor([c.data[0] for c in contexts]).repeat_interleave(8)
    ent = -(p * p.log()).sum(1)
    kl = (p * (p.log() - q.log())).sum(1)
    assert m["entropy"] == pytest.approx(float(ent[ctx].mean()), rel=1e-5)
    assert m["kl_exact"] == pytest.approx(float(kl[ctx].mean()), rel=1e-5)


def test_dynamic_sampling_refills_with_informative_groups():
    task = bandit()
    tr = Trainer(TabularPolicy(16, 8), task, "dapo", lr=0.3, group_size=4, prompts_per_step=8, seed=0,
                 knobs={"max_resample": 5})
    m = tr.step()
    assert m["resample_rounds"] >= 1  # at 1/8 success many groups of 4 are all wrong
    assert m["degenerate_frac"] > 0


def test_cppo_trains_on_k_rows_per_group_and_ppo_uses_the_critic():
    task = bandit()
    tr = Trainer(TabularPolicy(16, 8), task, "cppo", lr=0.3, group_size=8, prompts_per_step=8, seed=0)
    m = tr.step()
    assert m["kept_groups"] == 8
    ppo = Trainer(TabularPolicy(16, 8, value_head=True), task, "ppo", lr=0.3, group_size=1, prompts_per_step=32, seed=0)
    m = ppo.run(3)[-1]
    assert "value_loss" in m and math.isfinite(m["value_loss"])


def test_preference_preset_builds_pairs_with_flips():
    task = bandit()
    tr = Trainer(TabularPolicy(16, 8), task, "dpo", lr=0.3, group_size=8, prompts_per_step=16, seed=0,
                 knobs={"flip_rate": 0.99})
    m = tr.step()
    assert m["pairs"] > 0 and m["flipped_frac"] > 0.8
    good = Trainer(TabularPolicy(16, 8), task, "dpo", lr=0.3, group_size=8, prompts_per_step=16, seed=0)
    hist = good.run(40)
    assert hist[-1]["accuracy"] > 0.6 and hist[-1]["flipped_frac"] == 0.0


def test_tiny_transformer_step_with_ppo_epochs_and_minibatches():
    task = make_task("count", max_n=4)
    pol = make_policy(task, d_model=16, n_layers=1)
    tr = Trainer(pol, task, "grpo", lr=1e-3, group_size=4, prompts_per_step=4, seed=0,
                 knobs={"ppo_epochs": 2, "minibatches": 2}, eval_every=2, eval_size=8, eval_samples=4, pass_k=(1, 4))
    hist = tr.run(2)
    assert "test_accuracy" in hist[-1] and "test_pass@4" in hist[-1]
    assert all(math.isfinite(hist[-1][k]) for k in ("entropy", "kl_exact", "grad_norm"))


class NaNTask(ContextualBandit):
    def reward(self, problem, response):
        return float("nan")


def test_bad_input_is_rejected_clearly():
    task = bandit()
    with pytest.raises(InvalidParameterError, match="group_size must be >= 2"):
        Trainer(TabularPolicy(16, 8), task, "grpo", group_size=1)
    with pytest.raises(InvalidParameterError, match="vocabulary mismatch"):
        Trainer(TinyGPT(20, d_model=16, n_layers=1), make_task("addition"), "grpo")
    with pytest.raises(InvalidParameterError, match="contexts"):
        Trainer(TabularPolicy(4, 8), task, "grpo")
    with pytest.raises(UnknownNameError, match="Did you mean 'grpo'"):
        Trainer(TabularPolicy(16, 8), task, "grpoo")
    with pytest.raises(InvalidParameterError, match="Unknown knob 'clip_epsilon'"):
        Trainer(TabularPolicy(16, 8), task, "grpo", knobs={"clip_epsilon": 0.1})
    with pytest.raises(InvalidParameterError, match="critic"):
        Trainer(TabularPolicy(16, 8), task, "ppo")
    with pytest.raises(InvalidParameterError, match="lr"):
        Trainer(TabularPolicy(16, 8), task, "grpo", lr=-1.0)
    tr = Trainer(TabularPolicy(16, 8), NaNTask(16, 8), "grpo")
    with pytest.raises(InvalidParameterError, match="non-finite reward"):
        tr.step()
    assert issubclass(InvalidParameterError, OptkitError) and get_preset("grpo").group_method


def test_plot_history_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from optkit.rl.trainer import plot_history

    hist = Trainer(TabularPolicy(16, 8), bandit(), "grpo", lr=0.3, seed=0).run(3)
    path = plot_history({"grpo s0": hist, "grpo s1": hist}, tmp_path / "c.png")
    assert path.stat().st_size > 1000
    with pytest.raises(InvalidParameterError):
        plot_history({"a": hist}, tmp_path / "d.png", keys=("nothing",))


@pytest.mark.parametrize("name", sorted(__import__("optkit.rl.presets", fromlist=["PRESETS"]).PRESETS))
def test_every_preset_runs_through_the_trainer(name):
    """Two steps of every preset on the bandit: the trainer supplies what each needs (critic, replay,
    V*, prompt ids, GRESO's pre-filter, pairs, TRPO's step) and the metrics stay finite."""
    preset = get_preset(name)
    tr = Trainer(TabularPolicy(8, 4, value_head=preset.needs_critic), ContextualBandit(8, 4, seed=0), name, lr=0.1,
                 group_size=4, prompts_per_step=8, seed=0, knobs={"round_steps": 1} if preset.ref_refresh else None)
    hist = tr.run(2)
    assert all(math.isfinite(hist[-1][k]) for k in ("reward", "entropy", "kl_exact", "kl_k3"))
    if preset.kind == "policy" and not hist[-1].get("skipped_update"):
        assert "grad_norm" in hist[-1] or "trpo_expected" in hist[-1]


def test_trpo_on_the_transformer_uses_a_twice_differentiable_attention():
    task = make_task("count", max_n=3)
    tr = Trainer(make_policy(task, d_model=16, n_layers=1), task, "trpo", group_size=4, prompts_per_step=4, seed=0)
    m = tr.step()
    assert tr.policy.attention == "math" and math.isfinite(m["trpo_expected"])


def test_replay_and_vstar_state_are_supplied():
    task = ContextualBandit(4, 4, seed=0)
    tr = Trainer(TabularPolicy(4, 4), task, "repo_replay", lr=0.1, group_size=4, prompts_per_step=4, seed=0,
                 knobs={"replay_size": 4})
    hist = tr.run(3)
    assert hist[-1]["replay_rows"] > 0  # prompts seen before have 4 stored responses: an off-policy group each
    tr = Trainer(TabularPolicy(4, 4), task, "astar_po", lr=0.1, group_size=1, prompts_per_step=4, seed=0)
    tr.step()
    vstar = tr.knobs["_state"]["vstar"]
    assert vstar.shape == (4,) and bool(((vstar >= 0) & (vstar <= 1)).all())


def test_later_epochs_pair_each_group_with_its_own_prompt():
    """Epochs after the first visit the groups in a random order: the recomputed log-probs must still be
    those of each group's own prompt, so at an unchanged policy every ratio is 1 (no clipping)."""
    torch = pytest.importorskip("torch")
    pol = TabularPolicy(16, 8)
    with torch.no_grad():
        for p in pol.parameters():  # a non-uniform policy: a prompt mix-up changes the log-probs
            p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(0)) * 2.0)
    tr = Trainer(pol, bandit(), "grpo", lr=1e-12, group_size=8, prompts_per_step=16, seed=0,
                 knobs={"ppo_epochs": 4, "minibatches": 2})
    hist = tr.run(2)
    assert all(m["clip_frac"] == 0.0 for m in hist), [m["clip_frac"] for m in hist]

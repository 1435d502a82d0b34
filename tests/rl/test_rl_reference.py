"""The supervised warm start lands in its band; policy files round-trip without pickle."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from optkit.core.errors import InvalidParameterError, StateError  # noqa: E402
from optkit.rl.metrics import evaluate  # noqa: E402
from optkit.rl.reference import load_policy, reference_policy, save_policy, warm_start  # noqa: E402
from optkit.rl.tasks import ContextualBandit, make_task  # noqa: E402

torch.set_num_threads(1)


def test_warm_start_reaches_the_band_on_the_bandit():
    task = ContextualBandit(32, 8, seed=0)
    pol, info = warm_start(task, band=(0.3, 0.6), lr=0.05, batch_size=8, eval_every=4, seed=0)
    assert info["in_band"] and 0.3 <= info["test_accuracy"] <= 0.6
    assert evaluate(pol, task, task.test_set())["accuracy"] == pytest.approx(info["test_accuracy"])


def test_warm_start_on_a_sequence_task_and_file_round_trip(tmp_path):
    task = make_task("reverse", min_len=2, max_len=3)
    pol, info = warm_start(task, band=(0.2, 0.6), lr=3e-3, batch_size=32, eval_every=25, eval_size=60, max_steps=600,
                           model_options={"d_model": 32, "n_layers": 2})
    assert info["in_band"], info
    path = save_policy(pol, tmp_path / "ref.npz", info)
    with np.load(path, allow_pickle=False) as data:  # plain arrays and a JSON string, nothing pickled
        assert "__meta__" in data.files and all(data[k].dtype != object for k in data.files)
    back, info2 = load_policy(path)
    assert info2["steps"] == info["steps"]
    prompts = torch.tensor([[1, 5, 6, 7]])
    resp = torch.tensor([[8, 9, 2]])
    a, _ = pol.response_logits(prompts, None, resp)
    b, _ = back.response_logits(prompts, None, resp)
    assert torch.equal(a, b)


def test_reference_policy_cache(tmp_path):
    task = ContextualBandit(32, 8, seed=1)
    opts = dict(band=(0.3, 0.6), lr=0.05, batch_size=8, eval_every=4)
    p1, i1 = reference_policy(task, cache_dir=tmp_path, **opts)
    files = list(tmp_path.glob("rl-reference-bandit-*.npz"))
    assert len(files) == 1
    p2, i2 = reference_policy(task, cache_dir=tmp_path, **opts)
    assert i1 == i2 and torch.equal(p1.logits_table, p2.logits_table) and p1 is not p2


def test_bad_files_and_arguments(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a file")
    with pytest.raises(StateError):
        load_policy(bad)
    with pytest.raises(InvalidParameterError, match="band"):
        warm_start(ContextualBandit(4, 4), band=(0.7, 0.2))
    with pytest.raises(InvalidParameterError, match="aim"):
        warm_start(ContextualBandit(4, 4), band=(0.2, 0.6), aim=0.9)

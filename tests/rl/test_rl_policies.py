"""Policies: KV-cache sampling equals the plain loop; top-p/temperature; log-probs; padding invariance."""

import pytest

torch = pytest.importorskip("torch")

from optkit.core.errors import InvalidParameterError  # noqa: E402
from optkit.rl.policies import TabularPolicy, TinyGPT, pad_left, pick_tokens, token_stats  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model():
    return TinyGPT(20, d_model=32, n_layers=2, n_heads=4, max_len=32, value_head=True, seed=3)


PROMPTS = [[1, 5, 6, 7], [1, 8], [1, 2, 3, 4, 9, 10]]


@pytest.mark.parametrize("temperature, top_p", [(1.0, 1.0), (0.7, 0.9), (0.0, 1.0)])
def test_kv_cache_sampling_equals_plain_sampling(model, temperature, top_p):
    prompts, mask = pad_left(PROMPTS)
    out = []
    for use_cache in (True, False):
        gen = torch.Generator().manual_seed(11)
        out.append(model.sample(prompts, mask, num_samples=5, max_new_tokens=9, temperature=temperature, top_p=top_p,
                                generator=gen, eos_id=2, use_cache=use_cache, return_logits=True))
    a, b = out
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.mask, b.mask)
    assert torch.allclose(a.logits, b.logits, atol=1e-5)
    assert torch.allclose(a.logp, b.logp, atol=1e-5)
    assert a.tokens.shape[0] == 15
    # the tokens after <eos> are padding and masked out
    for row, m in zip(a.tokens.tolist(), a.mask.tolist()):
        if 2 in row:
            end = row.index(2)
            assert all(x == 0 for x in row[end + 1:]) and sum(m) == end + 1


def test_sampled_logp_equals_the_training_forward(model):
    prompts, mask = pad_left(PROMPTS)
    s = model.sample(prompts, mask, num_samples=3, max_new_tokens=7, generator=torch.Generator().manual_seed(0), eos_id=2)
    logits, values = model.response_logits(prompts, mask, s.tokens, num_samples=3)
    logp, ent = token_stats(logits, s.tokens)
    assert torch.allclose(logp * s.mask, s.logp, atol=1e-5)
    assert values.shape == s.tokens.shape and ent.shape == s.tokens.shape


def test_outputs_do_not_depend_on_the_padding(model):
    alone, m1 = pad_left([PROMPTS[1]])
    batch, m2 = pad_left(PROMPTS)
    resp = torch.tensor([[5, 6, 2]])
    l1, _ = model.response_logits(alone, m1, resp, shared_prefix=False)
    l2, _ = model.response_logits(batch, m2, resp.repeat(3, 1), shared_prefix=False)
    assert torch.allclose(l1[0], l2[1], atol=1e-5)


def test_pick_tokens_top_p_and_greedy():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2]])).repeat(1000, 1)
    u = (torch.arange(1000) + 0.5) / 1000
    # top_p=0.6 keeps {0, 1} (0.5 < 0.6 before adding token 1): probabilities 0.5/0.8 and 0.3/0.8
    got = pick_tokens(logits, u, 1.0, 0.6)
    assert set(got.tolist()) == {0, 1}
    assert abs((got == 0).float().mean().item() - 0.625) < 0.002
    full = pick_tokens(logits, u, 1.0, 1.0)
    assert abs((full == 2).float().mean().item() - 0.2) < 0.002
    assert set(pick_tokens(logits, u, 1.0, 0.4).tolist()) == {0}
    assert set(pick_tokens(logits, u, 0.0, 1.0).tolist()) == {0}
    # a low temperature sharpens: p ~ [0.5, 0.3, 0.2]^(1/0.5), normalised
    sharp = pick_tokens(logits, u, 0.5, 1.0)
    assert abs((sharp == 0).float().mean().item() - 0.25 / 0.38) < 0.002


def test_tabular_policy_samples_and_logits():
    pol = TabularPolicy(3, 4, init_logits=torch.log(torch.tensor([[0.7, 0.1, 0.1, 0.1]] * 3)))
    s = pol.sample(torch.tensor([[0], [2]]), num_samples=2000, generator=torch.Generator().manual_seed(0))
    assert s.tokens.shape == (4000, 1)
    assert abs((s.tokens == 0).float().mean().item() - 0.7) < 0.03
    logits, values = pol.response_logits(torch.tensor([[1]]), None, torch.tensor([[3]]))
    assert values is None and torch.allclose(torch.softmax(logits, -1)[0, 0], pol.probs()[1])


def test_bad_policy_arguments(model):
    with pytest.raises(InvalidParameterError, match="divisible"):
        TinyGPT(20, d_model=30, n_heads=4)
    with pytest.raises(InvalidParameterError, match="top_p"):
        model.sample(torch.tensor([[1, 2]]), top_p=0.0)
    with pytest.raises(InvalidParameterError, match="temperature"):
        model.sample(torch.tensor([[1, 2]]), temperature=-1.0)
    with pytest.raises(InvalidParameterError, match="max_len"):
        model.sample(torch.tensor([[1, 2]]), max_new_tokens=40)
    with pytest.raises(InvalidParameterError, match="context ids"):
        TabularPolicy(2, 3).sample(torch.tensor([[5]]))

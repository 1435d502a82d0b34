"""The shared-prefix forward gives the plain forward's outputs and gradients."""

import pytest

torch = pytest.importorskip("torch")

from optkit.rl.policies import TinyGPT, pad_left  # noqa: E402
from optkit.rl.prefix import plain_logits, shared_prefix_logits  # noqa: E402

torch.set_num_threads(1)


@pytest.mark.parametrize("value_head", [False, True])
def test_shared_prefix_equals_plain_forward_outputs_and_grads(value_head):
    model = TinyGPT(24, d_model=32, n_layers=3, n_heads=2, max_len=40, value_head=value_head, seed=5)
    prompts, mask = pad_left([[1, 4, 5, 6, 7, 8], [1, 9, 10], [1, 11, 12, 13]])
    g = 4
    gen = torch.Generator().manual_seed(0)
    responses = torch.randint(3, 24, (prompts.shape[0] * g, 6), generator=gen)
    weights = torch.randn(prompts.shape[0] * g, 6, 24, generator=gen)
    grads, outs = [], []
    for fn in (plain_logits, shared_prefix_logits):
        model.zero_grad()
        logits, values = fn(model, prompts, mask, responses, g)
        loss = (logits * weights).sum() + (values.square().sum() if values is not None else 0.0)
        loss.backward()
        outs.append((logits.detach(), None if values is None else values.detach()))
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert torch.allclose(outs[0][0], outs[1][0], atol=1e-5)
    if value_head:
        assert torch.allclose(outs[0][1], outs[1][1], atol=1e-5)
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 10
    for name in grads[0]:
        assert torch.allclose(grads[0][name], grads[1][name], atol=1e-4, rtol=1e-4), name


def test_single_token_responses():
    model = TinyGPT(16, d_model=16, n_layers=1, n_heads=2, max_len=16)
    prompts, mask = pad_left([[1, 4, 5], [1, 6]])
    responses = torch.tensor([[3], [4], [5], [6]])
    a, _ = plain_logits(model, prompts, mask, responses, 2)
    b, _ = shared_prefix_logits(model, prompts, mask, responses, 2)
    assert a.shape == (4, 1, 16) and torch.allclose(a, b, atol=1e-6)

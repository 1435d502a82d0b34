"""The torch adapters reproduce the numpy optimizers' iterates, round-trip their state and train an MLP."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from optkit import InvalidParameterError  # noqa: E402
from optkit.core.transforms import Context  # noqa: E402
from optkit.first_order.adaptive import AdamW as NpAdamW  # noqa: E402
from optkit.first_order.adaptive import Lion as NpLion  # noqa: E402
from optkit.first_order.grams import Grams as NpGrams  # noqa: E402
from optkit.first_order.gravity import Gravity as NpGravity  # noqa: E402
from optkit.first_order.polyak import PSPS as NpPSPS  # noqa: E402
from optkit.problems.ml import least_squares  # noqa: E402
from optkit.second_order.sophia import Sophia as NpSophia  # noqa: E402
from optkit.torch_optim import PSPS, CAdamW, CLion, Grams, Gravity, Sophia  # noqa: E402

torch.set_num_threads(1)
SEED = 123


class TorchRng:
    """A numpy-Generator stand-in drawing from a torch generator, so both sides see the same probes."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def standard_normal(self, shape):
        return torch.randn(tuple(np.atleast_1d(shape)), generator=self.g, dtype=torch.float64).numpy()

    def integers(self, lo, hi, size):
        return torch.randint(lo, hi, tuple(np.atleast_1d(size)), generator=self.g).numpy().astype(np.int64)


def _problem():
    return least_squares(n=40, dim=6, condition=50.0, noise=0.3, l2=0.01, seed=1)


def _torch_loss(problem, w):
    m = problem._lg.__self__  # the _Quadratic model behind the problem
    A, b = torch.as_tensor(m.A), torch.as_tensor(m.b)
    r = A @ w - b
    return 0.5 * (r @ r) / A.shape[0] + 0.5 * m.l2 * (w @ w)


def _numpy_run(np_opt, problem, steps):
    T = np_opt._build()
    w = problem.w0.astype(np.float64) + 0.5
    state, rng, out = T.init(w), TorchRng(SEED), []
    for t in range(steps):
        loss, g = problem.loss_and_grad(w)
        ww = w
        ctx = Context(w=w, grad=g, loss=loss, step=t, rng=rng, hvp=lambda v, ww=ww: problem.hvp(ww, v))
        u, state = T.update(g, state, ctx)
        w = w + u
        out.append(w.copy())
    return out


def _torch_run(make, problem, steps, closure_style):
    w = torch.tensor(problem.w0 + 0.5, dtype=torch.float64, requires_grad=True)
    opt = make([w], torch.Generator().manual_seed(SEED))
    out = []
    for _ in range(steps):
        if closure_style:
            opt.step(lambda: _torch_loss(problem, w))
        else:
            opt.zero_grad()
            _torch_loss(problem, w).backward()
            opt.step()
        out.append(w.detach().numpy().copy())
    return out


CASES = {
    "cadamw": (lambda s: NpAdamW(s, lr=0.05, weight_decay=0.1, cautious=True, batch_size=None),
               lambda p, g: CAdamW(p, lr=0.05, weight_decay=0.1), False),
    "adamw": (lambda s: NpAdamW(s, lr=0.05, weight_decay=0.1, batch_size=None),
              lambda p, g: CAdamW(p, lr=0.05, weight_decay=0.1, cautious=False), False),
    "clion": (lambda s: NpLion(s, lr=0.01, weight_decay=0.1, cautious=True, batch_size=None),
              lambda p, g: CLion(p, lr=0.01, weight_decay=0.1), False),
    "grams": (lambda s: NpGrams(s, lr=0.05, weight_decay=0.05, batch_size=None),
              lambda p, g: Grams(p, lr=0.05, weight_decay=0.05), False),
    "gravity": (lambda s: NpGravity(s, lr=0.1, alpha=0.01, batch_size=None),
                lambda p, g: Gravity(p, lr=0.1, alpha=0.01, generator=g), False),
    "sophia-h": (lambda s: NpSophia(s, lr=0.05, k=3, weight_decay=0.1, batch_size=None),
                 lambda p, g: Sophia(p, lr=0.05, k=3, weight_decay=0.1, generator=g), True),
    "psps-hutchinson": (lambda s: NpPSPS(s, init_samples=4, beta=0.9, batch_size=None),
                        lambda p, g: PSPS(p, init_samples=4, beta=0.9, generator=g), True),
    "psps-adam": (lambda s: NpPSPS(s, preconditioner="adam", c=2.0, batch_size=None),
                  lambda p, g: PSPS(p, preconditioner="adam", c=2.0), True),
    "psps-adagrad": (lambda s: NpPSPS(s, preconditioner="adagrad", gamma_max=0.5, batch_size=None),
                     lambda p, g: PSPS(p, preconditioner="adagrad", gamma_max=0.5), True),
    "psps-none": (lambda s: NpPSPS(s, preconditioner="none", c=0.5, batch_size=None),
                  lambda p, g: PSPS(p, preconditioner="none", c=0.5), True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_iterates_as_numpy(name):
    make_np, make_t, closure_style = CASES[name]
    problem = _problem()
    ref = _numpy_run(make_np(problem.space), problem, 25)
    got = _torch_run(make_t, problem, 25, closure_style)
    assert np.max(np.abs(ref[0] - (problem.w0 + 0.5))) > 1e-4  # the steps really move
    np.testing.assert_allclose(np.array(got), np.array(ref), rtol=0, atol=1e-10)
    assert problem.loss(got[-1]) < problem.loss(problem.w0 + 0.5)


def test_sophia_manual_update_hessian_matches_closure_mode():
    problem = _problem()
    auto = _torch_run(lambda p, g: Sophia(p, lr=0.05, k=2, generator=g), problem, 8, True)
    w = torch.tensor(problem.w0 + 0.5, dtype=torch.float64, requires_grad=True)
    opt = Sophia([w], lr=0.05, k=2, generator=torch.Generator().manual_seed(SEED))
    manual = []
    for t in range(8):
        if t % 2 == 0:
            opt.update_hessian(lambda: _torch_loss(problem, w))
        opt.zero_grad()
        _torch_loss(problem, w).backward()
        opt.step()
        manual.append(w.detach().numpy().copy())
    np.testing.assert_allclose(manual, auto, rtol=0, atol=1e-12)


def test_sophia_gnb_hand_update():
    # one parameter, hand-derived: h = (1 - b2) * B * g^2, m = (1 - b1) g, step = lr * clip(m / (gamma h))
    w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = Sophia([w], lr=0.1, betas=(0.5, 0.5), gamma=1.0, estimator="gnb")
    (w * w).sum().backward()  # g = 2 w = (2, -4)
    opt.update_hessian(batch_size=4)  # h = 0.5 * 4 * g^2 = (8, 32)
    opt.step()  # m = (1, -2); ratio = (1/8, -2/32)
    np.testing.assert_allclose(w.detach().numpy(), [1.0 - 0.1 / 8, -2.0 + 0.1 * 2 / 32], atol=1e-15)


def _mlp_setup(seed):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = torch.tensor(X[:300] / 16.0, dtype=torch.float32)
    y = torch.tensor(y[:300])
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.Tanh(), torch.nn.Linear(16, 10))
    return X, y, model


def _mlp_state_run(make, split, total=12):
    """Run ``total`` steps; at ``split`` save the state dicts, rebuild model+optimizer, load and continue."""
    X, y, model = _mlp_setup(0)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = make([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.02}])
    for t in range(total):
        if t == split:
            ms, os_ = model.state_dict(), opt.state_dict()
            _, _, model = _mlp_setup(99)
            model.load_state_dict(ms)
            opt = make([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.02}])
            opt.load_state_dict(os_)
        opt.zero_grad()
        loss_fn(model(X), y).backward()
        opt.step(lambda model=model: loss_fn(model(X), y)) if isinstance(opt, PSPS) else opt.step()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


STATE_MAKERS = {
    "cadamw": lambda ps: CAdamW(ps, lr=0.01),
    "clion": lambda ps: CLion(ps, lr=0.003),
    "grams": lambda ps: Grams(ps, lr=0.01),
    "gravity": lambda ps: Gravity(ps, lr=0.05, alpha=0.0),
    "sophia": lambda ps: Sophia(ps, lr=0.01),
    "psps": lambda ps: PSPS(ps, preconditioner="adam"),
}


@pytest.mark.parametrize("name", sorted(STATE_MAKERS))
def test_state_dict_round_trip(name):
    a = _mlp_state_run(STATE_MAKERS[name], split=-1)
    b = _mlp_state_run(STATE_MAKERS[name], split=6)
    assert torch.equal(a, b)
    opt = STATE_MAKERS[name]([{"params": [torch.zeros(2, requires_grad=True)]},
                              {"params": [torch.zeros(3, requires_grad=True)], "lr": 0.5}])
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["lr"] == 0.5


TRAIN_MAKERS = {
    "cadamw": lambda ps: CAdamW(ps, lr=0.01),
    "clion": lambda ps: CLion(ps, lr=0.002),
    "grams": lambda ps: Grams(ps, lr=0.01),
    "gravity": lambda ps: Gravity(ps, lr=0.3),
    "sophia": lambda ps: Sophia(ps, lr=0.01, gamma=0.05, generator=torch.Generator().manual_seed(0)),
    "psps": lambda ps: PSPS(ps, preconditioner="adam", gamma_max=1.0),
    "psps-hutchinson": lambda ps: PSPS(ps, gamma_max=1.0, generator=torch.Generator().manual_seed(0)),
}


@pytest.mark.parametrize("name", sorted(TRAIN_MAKERS))
def test_mlp_loss_decreases(name):
    X, y, model = _mlp_setup(0)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = TRAIN_MAKERS[name](model.parameters())
    first = float(loss_fn(model(X), y).detach())
    for _ in range(60):
        if isinstance(opt, (PSPS, Sophia)):
            opt.step(lambda: loss_fn(model(X), y))
        else:
            opt.zero_grad()
            loss_fn(model(X), y).backward()
            opt.step()
    last = float(loss_fn(model(X), y).detach())
    assert last < 0.7 * first, (first, last)


def test_bad_input():
    p = [torch.zeros(2, requires_grad=True)]
    for bad in (lambda: CAdamW(p, lr=0.0), lambda: CLion(p, betas=(1.0, 0.9)), lambda: Grams(p, eps=-1.0),
                lambda: Gravity(p, beta=1.5), lambda: Sophia(p, estimator="fisher"), lambda: Sophia(p, k=0),
                lambda: PSPS(p, preconditioner="lbfgs"), lambda: PSPS(p, c=0.0), lambda: CAdamW(p, betas=0.9)):
        with pytest.raises(InvalidParameterError):
            bad()
    with pytest.raises(InvalidParameterError, match="closure"):
        PSPS(p).step()
    with pytest.raises(InvalidParameterError, match="closure"):
        Sophia(p).update_hessian()
    with pytest.raises(InvalidParameterError, match="batch_size"):
        Sophia(p, estimator="gnb").update_hessian(batch_size=0)


def test_import_optkit_does_not_import_torch_optim():
    code = "import sys, optkit; print('optkit.torch_optim' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("name", ["psps-adam", "psps-adagrad", "grams", "adamw"])
def test_two_tensors_in_two_groups_match_the_flat_numpy_run(name):
    # elementwise rules and PSPS's model-wide step size do not depend on how the vector is split
    make_np, make_t, closure_style = CASES[name]
    problem = _problem()
    ref = _numpy_run(make_np(problem.space), problem, 15)
    w0 = problem.w0 + 0.5
    a = torch.tensor(w0[:2], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(w0[2:], dtype=torch.float64, requires_grad=True)
    opt = make_t([{"params": [a]}, {"params": [b]}], None)

    def loss():
        return _torch_loss(problem, torch.cat([a, b]))

    got = []
    for _ in range(15):
        if closure_style:
            opt.step(loss)
        else:
            opt.zero_grad()
            loss().backward()
            opt.step()
        got.append(torch.cat([a, b]).detach().numpy().copy())
    np.testing.assert_allclose(np.array(got), np.array(ref), rtol=0, atol=1e-10)


def test_sample_labels_follow_the_softmax():
    from optkit.torch_optim import sample_labels

    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([[50.0, 0.0, 0.0], [0.0, 0.0, 50.0]])
    assert sample_labels(logits, g).tolist() == [0, 2]
    freq = sample_labels(torch.zeros(20000, 2), g).float().mean()
    assert abs(float(freq) - 0.5) < 0.02

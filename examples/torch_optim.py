"""optkit's torch optimizers in an ordinary PyTorch training loop (a few seconds on a CPU).

    python examples/torch_optim.py
"""

import torch
from sklearn.datasets import load_digits

from optkit.torch_optim import PSPS, CAdamW, CLion, Grams, Gravity, Sophia

torch.set_num_threads(1)
Xn, yn = load_digits(return_X_y=True)
X, y = torch.tensor(Xn / 16.0, dtype=torch.float32), torch.tensor(yn)
loss_fn = torch.nn.CrossEntropyLoss()

makers = {
    "CAdamW": lambda ps: CAdamW(ps, lr=3e-2),
    "CLion": lambda ps: CLion(ps, lr=3e-3),
    "Grams": lambda ps: Grams(ps, lr=3e-2),
    "Gravity": lambda ps: Gravity(ps, lr=1.0),
    "Sophia": lambda ps: Sophia(ps, lr=3e-3),
    "PSPS": lambda ps: PSPS(ps, preconditioner="adam", gamma_max=1.0),
}
for name, make in makers.items():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Tanh(), torch.nn.Linear(32, 10))
    opt = make(model.parameters())
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        idx = torch.randint(0, len(X), (64,), generator=gen)
        xb, yb = X[idx], y[idx]
        if isinstance(opt, (Sophia, PSPS)):  # these take a closure returning the loss (no backward inside)
            opt.step(lambda model=model, xb=xb, yb=yb: loss_fn(model(xb), yb))
        else:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    with torch.no_grad():
        acc = (model(X).argmax(1) == y).float().mean()
        print(f"{name:8s} training loss {float(loss_fn(model(X), y)):.4f}  accuracy {float(acc):.3f}")

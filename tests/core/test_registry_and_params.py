import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import optkit


def test_unknown_method_suggests_close_names():
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'nelder-mead'"):
        optkit.make("nelder-maed", optkit.Box(0, 1, dim=2))
    with pytest.raises(LookupError):
        optkit.get("no-such-method")


def test_unknown_hyperparameter_is_an_error_with_suggestion():
    with pytest.raises(optkit.UnknownNameError, match="Did you mean 'sigma0'"):
        optkit.make("pycma", optkit.Box(0, 1, dim=2), sigma=0.2)


def test_invalid_hyperparameter_message():
    with pytest.raises(optkit.InvalidParameterError,
                       match=r"The 'popsize' parameter of PyCMA must be None or an int in \[2, inf\). Got 1 instead."):
        optkit.make("pycma", optkit.Box(0, 1, dim=2), popsize=1)
    with pytest.raises(optkit.InvalidParameterError, match="'seed'"):
        optkit.make("random", optkit.Box(0, 1, dim=2), seed=-1)


def test_needs_bounds():
    with pytest.raises(optkit.InvalidParameterError, match="finite bounds"):
        optkit.make("random", optkit.Box(-float("inf"), 1, dim=2))


def test_aliases_and_case():
    assert optkit.get("CMA") is optkit.get("pycma")
    assert optkit.get("L-BFGS-B") is optkit.get("lbfgsb")


def test_every_concrete_optimizer_class_is_registered():
    """Walk the package: a concrete public Optimizer subclass that is not registered is a bug."""
    registered = {optkit.get(n) for n in optkit.available()}
    skip = ("optkit.bayesopt", "optkit.rl", "optkit.torch_optim")  # need the optional torch extra; registered lazily by name
    for mod in pkgutil.walk_packages(optkit.__path__, "optkit."):
        if mod.name.startswith(skip) or mod.name.endswith("__main__"):
            continue
        module = importlib.import_module(mod.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, optkit.Optimizer) and not inspect.isabstract(cls) and cls.__module__ == mod.name
                    and not cls.__name__.startswith("_")):
                assert cls in registered, f"{cls.__module__}.{cls.__name__} is not in the registry"


def test_register_a_user_optimizer():
    import numpy as np

    @optkit.register("test-centre", family="sampling")
    class Centre(optkit.Optimizer):
        def __init__(self, space, *, seed=None):
            super().__init__(space, seed=seed)

        def _ask(self, n):
            return np.tile((self.space.encoded_lower + self.space.encoded_upper) / 2, (n, 1))

        def _tell(self, Z, y, C):
            pass

    assert "test-centre" in optkit.available()
    res = optkit.minimize(lambda x: float(x @ x), [(-1, 1)] * 2, method="test-centre", budget=3)
    assert res.fun == 0.0
    with pytest.raises(optkit.InvalidParameterError, match="taken|reserved"):
        optkit.register("random", family="sampling")(Centre)


def test_import_is_light_and_fast():
    code = ("import time, sys; t = time.perf_counter(); import optkit; dt = time.perf_counter() - t; "
            "bad = [m for m in ('torch', 'botorch', 'gpytorch', 'numba', 'scipy.optimize') if m in sys.modules]; "
            "print(dt, bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(maxsplit=1)
    assert out[1].strip() == "[]", f"import optkit pulled in {out[1]}"
    # the bar of the design is 0.5 s; allow slack for a loaded CI machine
    assert float(out[0]) < 1.0

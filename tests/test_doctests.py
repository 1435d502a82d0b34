"""Every Examples section in the library runs (the docs' code must work)."""

import doctest
import importlib
import pkgutil

import pytest

import optkit

MODULES = sorted(m.name for m in pkgutil.walk_packages(optkit.__path__, "optkit.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    if name.startswith(("optkit.bayesopt", "optkit.rl", "optkit.torch_optim")):
        pytest.importorskip("torch", reason="the torch-based families need the bo/rl extra")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest lines failed in {name}"

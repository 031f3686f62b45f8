"""Shared pytest setup: `slow` tests run only when asked for, `gpu` tests only where CUDA exists;
shared fixtures."""

import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    markexpr = config.getoption("-m") or ""
    run_slow = config.getoption("--runslow") or "slow" in markexpr
    has_cuda = None
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with `-m slow` or --runslow"))
        if "gpu" in item.keywords:
            if has_cuda is None:
                has_cuda = _cuda_available()
            if not has_cuda:
                item.add_marker(pytest.mark.skip(reason="gpu: no CUDA device"))


@pytest.fixture
def graph_tensors_on():
    """A function listing the tensors held in a module's (or its submodules') attributes, also
    inside dicts, lists and tuples, that carry an autograd graph: a side channel that keeps a
    graph alive after a call."""
    import torch

    def find(module) -> list[str]:
        found = []

        def visit(path, value):
            if isinstance(value, torch.Tensor):
                if value.grad_fn is not None:
                    found.append(path)
            elif isinstance(value, dict):
                for k, v in value.items():
                    visit(f"{path}[{k!r}]", v)
            elif isinstance(value, (list, tuple)):
                for i, v in enumerate(value):
                    visit(f"{path}[{i}]", v)

        for name, m in module.named_modules():
            for attr, value in vars(m).items():
                visit(f"{name or type(module).__name__}.{attr}", value)
        return found

    return find

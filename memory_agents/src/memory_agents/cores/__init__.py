"""Memory cores: recurrent modules sharing one contract (see ``base.MemoryCore``).

``make_core(name, input_dim, hidden_dim, **kwargs)`` builds one by name. Each core module
registers its class with ``@register_core(name)``; to add a built-in core, add its module name
to ``_CORE_MODULES`` below (that list is the only place to touch).
"""

from importlib import import_module

from .base import (
    NORM_READINGS,
    READINGS,
    MemoryCore,
    Readings,
    State,
    make_core,
    readings_to_numpy,
    register_core,
    registered_cores,
    reset_segments,
)

_CORE_MODULES = (
    "gru",
    "lstm",
    "mamba2",
    "pseudo_mamba",
    "mpn",
    "pseudo_memory",
    "mamba2_memory",
    "transformer",
)

for _module in _CORE_MODULES:
    import_module(f"{__name__}.{_module}")
del _module

#: Names of the built-in cores (``registered_cores()`` also lists user-registered ones).
CORE_NAMES: tuple[str, ...] = registered_cores()

__all__ = [
    "MemoryCore",
    "NORM_READINGS",
    "READINGS",
    "Readings",
    "State",
    "make_core",
    "readings_to_numpy",
    "register_core",
    "registered_cores",
    "reset_segments",
    "CORE_NAMES",
]

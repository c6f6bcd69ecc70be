"""The plain torch networks behind the detectors, one module per family, each class
registered with :func:`register_network`. Importing this package imports every family (which
fills the registry); heavy libraries (timm, PyG) load only when a network that needs them is
built. Adding a network is one new module here and one config."""

from importlib import import_module
from pkgutil import iter_modules

from deepfake_audio.models.networks.base import (
    Network,
    NetworkFactory,
    build_network,
    register_network,
    registered_networks,
)

for _family in iter_modules(__path__):
    import_module(f"{__name__}.{_family.name}")

__all__ = ["Network", "NetworkFactory", "build_network", "register_network", "registered_networks"]

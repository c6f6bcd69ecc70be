"""The network base class and the registry that packages are rebuilt from.

A network is a plain torch module (no Lightning) with one logit per input. It is built from the
shape of one input plus its own keyword arguments, which the base class records, as they were
given and with the defaults filled in, in :attr:`Network.config`, so that an exported model is
rebuilt from JSON alone. :func:`build_network` builds only classes registered with
:func:`register_network`: a model file can name nothing else to run.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

if TYPE_CHECKING:
    from deepfake_audio.features import InputSpec

_REGISTRY: dict[str, type[Network]] = {}
NetworkFactory = Callable[[list[int]], "Network"]  # input shape -> network


def register_network(cls: type[Network]) -> type[Network]:
    """Class decorator: make a network buildable from its config (and tested by the suite)."""
    if cls.__name__ in _REGISTRY and _REGISTRY[cls.__name__] is not cls:
        raise ValueError(f"two networks are named {cls.__name__}")
    _REGISTRY[cls.__name__] = cls
    return cls


def registered_networks() -> dict[str, type[Network]]:
    """Every registered network class by name."""
    return dict(_REGISTRY)


def class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _plain(value: Any) -> Any:
    """An argument as JSON can hold it: a network as its config, tuples as lists."""
    if isinstance(value, Network):
        return value.config
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _recording(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap a network's ``__init__`` so that the most derived class's records its arguments."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def recording_init(self: Network, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if type(self).__init__ is recording_init:  # the class being built, not a parent
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            _self, *names = signature.parameters
            arguments = {name: _plain(bound.arguments[name]) for name in names}
            self.config = {
                "class_path": class_path(type(self)),
                "init_args": self.recorded(arguments),
            }

    return recording_init


class Network(nn.Module):
    """Base class: remembers how it was built, so it can be rebuilt from JSON.

    Subclasses take ``input_shape`` (one input's shape, from the DataModule) first and their
    own keyword arguments after it; their ``__init__`` calls ``super().__init__()`` and builds
    the layers. The arguments are recorded here, once (:attr:`config`), by wrapping every
    subclass's ``__init__``. :attr:`reads` names the representation
    (:mod:`deepfake_audio.features.spec`) of their input.
    """

    reads: ClassVar[str] = "sequence"
    config: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            cls.__init__ = _recording(cls.__init__)  # type: ignore[method-assign]

    def recorded(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The ``init_args`` to record from the arguments given (defaults filled in, networks
        as their configs); subclasses whose arguments are not plain data override it."""
        return arguments

    @classmethod
    def example(cls, input_shape: list[int]) -> Network:
        """A small instance for smoke tests and benchmarks; networks with required arguments
        override it."""
        return cls(input_shape)

    @classmethod
    def from_config(cls, init_args: dict[str, Any]) -> Network:
        """The network that :attr:`config` ``init_args`` describe."""
        return cls(**init_args)

    def parameter_groups(self) -> list[dict[str, Any]]:
        """The optimiser's parameter groups: one, unless parts train at their own rate."""
        return [{"params": list(self.parameters())}]

    def member_logits(self, inputs: Any) -> torch.Tensor:
        """``[batch, members]`` logits, one column per independently trained member: a single
        network is one member (see :class:`~.ensemble.EnsembleNetwork`)."""
        return self(inputs)[:, None]

    def check_input(self, spec: InputSpec) -> None:
        """Raise ``ValueError`` if this network cannot read inputs of ``spec`` (beyond their
        shape, which it was built for)."""


def expect_rank(network: str, input_shape: list[int], wanted: str, datamodule: str) -> None:
    """Refuse an input shape whose rank differs from ``wanted`` (e.g. ``[frames, rows]``),
    naming the DataModule that makes the right one."""
    if len(input_shape) != wanted.count(",") + 1:
        raise ValueError(
            f"{network} needs input {wanted}, got shape {list(input_shape)}: pair it with "
            f"{datamodule}"
        )


def build_network(config: dict[str, Any]) -> Network:
    """Rebuild a network from its :attr:`Network.config`; only registered classes qualify."""
    path = str(config.get("class_path"))
    network = _REGISTRY.get(path.rpartition(".")[2])
    if network is None or class_path(network) != path:
        raise ValueError(
            f"{path!r} is not a registered deepfake_audio network; registered: "
            f"{', '.join(sorted(_REGISTRY))}"
        )
    return network.from_config(config["init_args"])

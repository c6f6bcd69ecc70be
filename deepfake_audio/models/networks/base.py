"""The network base class and the registry that packages are rebuilt from.

A network is a plain torch module (no Lightning) with one logit per input. It is built from the
shape of one input plus its own keyword arguments, and records both in :attr:`Network.config`,
so that an exported model is rebuilt from JSON alone. :func:`build_network` builds only classes
registered with :func:`register_network`: a model file can name nothing else to run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

if TYPE_CHECKING:
    from deepfake_audio.features import InputSpec

_REGISTRY: dict[str, type[Network]] = {}


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


class Network(nn.Module):
    """Base class: remembers how it was built, so it can be rebuilt from JSON.

    Subclasses take ``input_shape`` (one input's shape, from the DataModule) first, pass every
    argument to ``super().__init__`` and build their layers after that. :attr:`reads` names
    the representation (:mod:`deepfake_audio.features.spec`) of their input.
    """

    reads: ClassVar[str] = "sequence"

    def __init__(self, **init_args: Any) -> None:
        super().__init__()
        self.config = {"class_path": class_path(type(self)), "init_args": init_args}

    @classmethod
    def example(cls, input_shape: list[int]) -> Network:
        """A small instance for smoke tests and benchmarks; networks with required arguments
        override it."""
        return cls(input_shape)

    @classmethod
    def from_config(cls, init_args: dict[str, Any]) -> Network:
        """The network that :attr:`config` ``init_args`` describe."""
        return cls(**init_args)

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

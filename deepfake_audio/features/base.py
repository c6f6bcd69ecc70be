"""The front-end protocol and its registry.

A front end is a frozen dataclass of settings that says what a model's input is computed from a
waveform window: its :attr:`~Features.kind` (the registry key stored with every model), its
torch form (for training, caches and the torch backend) and its numpy form (for the ONNX
backend, no torch), how its output is normalised, whether it can be computed once per utterance
and cropped (:attr:`~Features.local`), and how it describes itself in model cards and the web
app. A new front end is one module under :mod:`deepfake_audio.features` with one subclass;
nothing else switches on its type. Nothing here imports torch at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn

    from deepfake_audio.features.spectral import SpectralFeatures

SAMPLE_RATE = 16_000  # what every front end reads unless its settings say otherwise
_REGISTRY: dict[str, type[Features]] = {}

NumpyFrontEnd = Callable[[np.ndarray], np.ndarray]  # windows [n, samples] -> [n, rows, frames]
Wave = TypeVar("Wave")  # a waveform: a numpy array or a torch tensor


class Features:
    """The front-end protocol: what data, models and every backend ask of a front end. The
    registered front ends are frozen dataclasses derived from :class:`FrontEndSettings`
    (picklable, so DataLoader workers and cache builders can use them), registered by
    :attr:`kind`. A plain class, so that a config picks one by its ``class_path``.

    A front end maps windows ``[..., window_samples]`` to ``[..., rows, frames]``; the rows
    fall into :attr:`blocks`, each standardised on its own per window by :meth:`normalise`
    (none: the output is used as it is).
    """

    trim_db: float | None  # see FrontEndSettings

    kind: ClassVar[str]
    local: ClassVar[bool] = True  # each frame depends on its neighbourhood only: caches crop
    banded: ClassVar[bool] = False  # rows are filterbank bands (what band masks need)
    standardised: ClassVar[bool] = True  # False: :meth:`normalise` leaves values as they are
    framed: ClassVar[bool] = True  # False: a window is its samples, not [rows, frames]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind"):
            if cls.kind in _REGISTRY and _REGISTRY[cls.kind].__name__ != cls.__name__:
                raise ValueError(f"two front ends are of kind {cls.kind!r}")
            _REGISTRY[cls.kind] = cls

    @property
    def window_samples(self) -> int:
        """Waveform samples of one window (one model input)."""
        raise NotImplementedError

    @property
    def frame_size(self) -> int:
        """Values per frame."""
        return sum(self.blocks)

    @property
    def blocks(self) -> tuple[int, ...]:
        """Rows per kind of value, each standardised on its own by :meth:`normalise`."""
        raise NotImplementedError

    @property
    def available(self) -> str | None:
        """Why this front end cannot run on this install (a missing extra), or None."""
        return None

    def front_end(self) -> nn.Module:
        """The torch front end: ``[..., samples]`` to ``[..., rows, frames]``, without grad."""
        raise NotImplementedError

    def numpy_front_end(self, folder: Path | None = None) -> NumpyFrontEnd:
        """The same in numpy (the ONNX backend), reading :meth:`package_files` from a model
        package ``folder``."""
        raise NotImplementedError

    def package_files(self) -> dict[str, bytes]:
        """Files a model package holds for :meth:`numpy_front_end`, by name."""
        return {}

    def package_file_names(self) -> list[str]:
        """The names of :meth:`package_files`, without computing them."""
        return []

    def normalise(self, values: torch.Tensor) -> torch.Tensor:
        """Each window's ``[..., rows, frames]`` standardised per block (zero mean, unit
        variance over the block's rows and frames), if :attr:`standardised`."""
        from deepfake_audio.features.normalise import normalise_utterance

        return normalise_utterance(values, self.blocks) if self.standardised else values

    def normalise_numpy(self, values: np.ndarray) -> np.ndarray:
        """:meth:`normalise` of ``[n, rows, frames]`` in numpy."""
        from deepfake_audio.features.normalise import normalise_utterance_numpy

        if not self.standardised:
            return values
        return normalise_utterance_numpy(values, self.blocks)

    def describe(self) -> str:
        """The front end in words, for model cards."""
        raise NotImplementedError

    def shown_as(self) -> SpectralFeatures:
        """The spectral features the web app draws a clip with."""
        from deepfake_audio.features.spectral import SpectralFeatures

        return SpectralFeatures(n_fft=512, hop_length=160, n_mels=80, scale="linear")

    @classmethod
    def example(cls) -> Features:
        """Small settings for tests and benchmarks."""
        return cls()

    def trimmed(self, wave: Wave) -> Wave:
        """A clip's waveform at :attr:`sample_rate` without its silent ends (see ``trim_db``;
        as it is without)."""
        if self.trim_db is None:
            return wave
        from deepfake_audio.reading import voiced_span

        start, stop = voiced_span(np.asarray(wave), self.sample_rate, self.trim_db)
        return wave[start:stop]

    def to_dict(self) -> dict[str, Any]:
        """The settings by name, with the kind; ``trim_db`` only when set, so that the models
        and caches made before it existed read the same."""
        settings = asdict(self)
        if settings["trim_db"] is None:
            del settings["trim_db"]
        return {"kind": self.kind, **settings}


@dataclass(frozen=True)
class FrontEndSettings(Features):
    """The settings every front end has: the base of the registered ones.

    ``trim_db`` cuts each clip's leading and trailing silence before its windows are made: the
    20 ms frames at either end that are more than ``trim_db`` dB below the clip's loudest
    frame, in training, tests and detection alike (:meth:`~Features.trimmed`). How much silence
    a recording or a synthesiser leaves around speech varies by source, not by class, and a
    detector should not learn it.
    """

    trim_db: float | None = None


def registered_front_ends() -> dict[str, type[Features]]:
    """Every front-end kind and its settings class."""
    return dict(_REGISTRY)


def features_from_dict(data: dict[str, Any]) -> Features:
    """Front-end settings from their :meth:`~Features.to_dict`."""
    options = dict(data)
    kind = options.pop("kind", None)
    if kind not in _REGISTRY:
        raise ValueError(f"unknown front end {kind!r}; known: {sorted(_REGISTRY)}")
    settings = _REGISTRY[kind]
    unknown = sorted(set(options) - {field.name for field in fields(settings)})
    if unknown:
        raise ValueError(f"unknown {kind} front-end settings {unknown}")
    return settings(**options)

"""Corpora, splits, datasets and the DataModules of each input representation.

The DataModules load lazily, so that inference code importing ``deepfake_audio.data.graph``
or the audio helpers does not pay for Lightning.
"""

from importlib import import_module

_LAZY = {
    "AudioDataModule": "deepfake_audio.data.base",
    "GraphDataModule": "deepfake_audio.data.datamodules",
    "MelImageDataModule": "deepfake_audio.data.datamodules",
    "SequenceDataModule": "deepfake_audio.data.datamodules",
}
__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

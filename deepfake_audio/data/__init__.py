"""Corpora, splits, datasets and the DataModules of each input representation.

The DataModules load lazily, so that code importing the corpus indexers or the audio helpers
does not pay for Lightning.
"""

from deepfake_audio.lazy import lazy_attributes

_LAZY = {
    "AudioDataModule": "deepfake_audio.data.base",
    "GraphDataModule": "deepfake_audio.data.datamodules",
    "LayerDataModule": "deepfake_audio.data.datamodules",
    "LayerStatisticsDataModule": "deepfake_audio.data.datamodules",
    "MelImageDataModule": "deepfake_audio.data.datamodules",
    "SequenceDataModule": "deepfake_audio.data.datamodules",
    "WaveformDataModule": "deepfake_audio.data.datamodules",
}
__all__ = list(_LAZY)

__getattr__ = lazy_attributes(__name__, _LAZY)

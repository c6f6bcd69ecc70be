"""Corpora, splits, datasets and the DataModules of each input representation."""

from deepfake_audio.data.base import AudioDataModule
from deepfake_audio.data.datamodules import GraphDataModule, MelImageDataModule, SequenceDataModule

__all__ = ["AudioDataModule", "GraphDataModule", "MelImageDataModule", "SequenceDataModule"]

"""The front end and the input contract: feature settings, the torch and numpy front ends, and
:class:`InputSpec` with its representations. Importing this package needs no torch; the torch
front end loads on first use."""

from deepfake_audio.features.settings import SAMPLE_RATE, SpectralFeatures
from deepfake_audio.features.spec import (
    FrameGraph,
    FrameSequence,
    Image,
    InputSpec,
    Representation,
    Waveform,
)
from deepfake_audio.lazy import lazy_attributes

_LAZY = {
    "FrontEnd": "deepfake_audio.features.front_end",
    "normalise_utterance": "deepfake_audio.features.front_end",
}
__all__ = [
    "SAMPLE_RATE",
    "FrameGraph",
    "FrameSequence",
    "Image",
    "InputSpec",
    "Representation",
    "SpectralFeatures",
    "Waveform",
    *_LAZY,
]

__getattr__ = lazy_attributes(__name__, _LAZY)

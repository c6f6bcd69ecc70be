"""Front ends and the input contract: the front-end protocol and its registry
(:class:`Features`), one module per kind of front end (spectral, Whisper encoder layers, the
waveform itself), each in torch and in numpy, and :class:`InputSpec` with its representations.
Importing this package imports every front-end module (which fills the registry) and needs no
torch; a torch front end loads on first use."""

from importlib import import_module
from pkgutil import iter_modules

from deepfake_audio.features.base import (
    SAMPLE_RATE,
    Features,
    features_from_dict,
    registered_front_ends,
)
from deepfake_audio.features.normalise import normalise_utterance
from deepfake_audio.features.spec import (
    FrameGraph,
    FrameSequence,
    Image,
    InputSpec,
    LayerStack,
    LayerStatistics,
    Representation,
    Waveform,
)
from deepfake_audio.features.spectral import SpectralFeatures
from deepfake_audio.features.waveform import WaveformFeatures
from deepfake_audio.features.whisper import WhisperFeatures

_HELPERS = {"base", "graph", "normalise", "spec"}  # modules that hold no front end
for _module in iter_modules(__path__):
    if _module.name not in _HELPERS:
        import_module(f"{__name__}.{_module.name}")

__all__ = [
    "SAMPLE_RATE",
    "Features",
    "FrameGraph",
    "FrameSequence",
    "Image",
    "InputSpec",
    "LayerStack",
    "LayerStatistics",
    "Representation",
    "SpectralFeatures",
    "Waveform",
    "WaveformFeatures",
    "WhisperFeatures",
    "features_from_dict",
    "normalise_utterance",
    "registered_front_ends",
]

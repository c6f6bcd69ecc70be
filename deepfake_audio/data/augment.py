"""Augmentations for training clips, each switchable in YAML.

Waveform augmentations act on a mono crop ``[samples]`` at 16 kHz before the log-mel; feature
augmentations act on the log-mel ``[n_mels, frames]`` before per-utterance normalisation.
Each applies with probability ``p`` and keeps the shape. All are label-blind except the spoof
makers (:class:`Splice`), which turn bona fide crops into spoofs and relabel them. Note that
per-utterance normalisation cancels a pure gain change for log-mel models; :class:`Gain`
matters for raw-waveform models.
"""

from __future__ import annotations

import io

import soundfile as sf
import torch
import torchaudio.functional as AF
from torch import nn

from deepfake_audio.audio import SAMPLE_RATE, fit_length


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(()))


class Augmentation(nn.Module):
    """Base class: with probability ``p``, :meth:`apply` a random transform."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, signal: torch.Tensor) -> torch.Tensor:
        return self.apply(signal) if self.drawn() else signal

    def drawn(self) -> bool:
        """Whether this call applies: true with probability ``p``."""
        return float(torch.rand(())) < self.p

    def apply(self, signal: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class WaveAugmentation(Augmentation):
    """An augmentation of the waveform ``[samples]``."""


class FeatureAugmentation(Augmentation):
    """An augmentation of the log-mel ``[n_mels, frames]``."""


class SpoofMaker(WaveAugmentation):
    """A waveform augmentation that makes a spoof of a bona fide crop. Datasets apply it to
    bona fide training crops only, through :meth:`make`, and label what it made spoof."""

    def make(self, wave: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """With probability ``p``, the crop made into a spoof and ``True``; else the crop as it
        is and ``False``."""
        made = self.drawn()
        return (self.apply(wave) if made else wave), made


class Splice(SpoofMaker):
    """Reassemble a crop from random segments of itself, ``min_ms`` to ``max_ms`` long, each
    joined to the last by a ``fade_ms`` raised-cosine crossfade.

    The joins are those of concatenative (diphone, unit-selection) synthesis and of
    cut-and-paste edits, made from genuine speech: a detector learns them without seeing any
    synthesiser, and no vocoder of a held-out generator leaks into training.
    """

    def __init__(
        self, min_ms: float = 40.0, max_ms: float = 160.0, fade_ms: float = 5.0, p: float = 0.3
    ) -> None:
        super().__init__(p)
        if not 0.0 < fade_ms <= min_ms <= max_ms:
            raise ValueError(
                f"need 0 < fade_ms <= min_ms <= max_ms, got {fade_ms}, {min_ms}, {max_ms}"
            )
        self.min_ms = min_ms
        self.max_ms = max_ms
        self.fade_ms = fade_ms

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        samples = wave.numel()
        fade, shortest, longest = (
            max(1, round(ms * SAMPLE_RATE / 1000))
            for ms in (self.fade_ms, self.min_ms, self.max_ms)
        )
        fade_in = 0.5 - 0.5 * torch.cos(torch.pi * torch.arange(fade) / fade)
        spliced = wave.new_zeros(samples + longest + fade)
        position = 0
        while position < samples:
            length = int(torch.randint(shortest, longest + 1, ()))
            start = int(torch.randint(max(1, samples - length - fade + 1), ()))
            segment = fit_length(wave, length + fade, start).clone()
            if position:
                segment[:fade] *= fade_in
            segment[-fade:] *= 1 - fade_in
            spliced[position : position + length + fade] += segment
            position += length
        return spliced[:samples]


class WhiteNoise(WaveAugmentation):
    """Add Gaussian white noise at a signal-to-noise ratio drawn uniformly in dB (the seed's)."""

    def __init__(self, min_snr_db: float = 20.0, max_snr_db: float = 40.0, p: float = 0.5) -> None:
        super().__init__(p)
        self.min_snr_db = min_snr_db
        self.max_snr_db = max_snr_db

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        snr_db = _uniform(self.min_snr_db, self.max_snr_db)
        signal_power = wave.pow(2).mean().clamp_min(1e-10)
        noise_std = torch.sqrt(signal_power / 10 ** (snr_db / 10))
        return wave + noise_std * torch.randn_like(wave)


class Gain(WaveAugmentation):
    """Scale by a gain drawn uniformly in dB."""

    def __init__(self, min_db: float = -12.0, max_db: float = 6.0, p: float = 0.5) -> None:
        super().__init__(p)
        self.min_db = min_db
        self.max_db = max_db

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        return wave * 10 ** (_uniform(self.min_db, self.max_db) / 20)


def _random_band_filter(taps: int, sample_rate: int) -> torch.Tensor:
    """A windowed-sinc band-pass FIR with random centre and bandwidth."""
    nyquist = sample_rate / 2
    centre = _uniform(50.0, nyquist - 100.0)
    width = _uniform(100.0, nyquist / 2)
    low, high = max(centre - width / 2, 20.0), min(centre + width / 2, nyquist - 20.0)
    n = torch.arange(taps) - (taps - 1) / 2

    def low_pass(cutoff: float) -> torch.Tensor:
        return 2 * cutoff / sample_rate * torch.sinc(2 * cutoff / sample_rate * n)

    return (low_pass(high) - low_pass(low)) * torch.hann_window(taps, periodic=False)


class ConvolutiveNoise(WaveAugmentation):
    """RawBoost-style linear and non-linear convolutive noise (Tak et al., 2022).

    Sums band-filtered powers ``x, x^2, ... x^orders`` with random band-pass FIRs and
    decaying weights, as a channel or device might colour and distort speech.
    """

    def __init__(self, orders: int = 3, taps: int = 65, p: float = 0.5) -> None:
        super().__init__(p)
        self.orders = orders
        self.taps = taps

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        peak = wave.abs().max().clamp_min(1e-8)
        unit = wave / peak
        out = torch.zeros_like(wave)
        for order in range(1, self.orders + 1):
            fir = _random_band_filter(self.taps, SAMPLE_RATE)
            filtered = AF.fftconvolve(unit.pow(order), fir, mode="same")  # 7x conv1d's speed
            out = out + filtered * _uniform(0.5, 1.0) / order
        return out * peak / out.abs().max().clamp_min(1e-8)


class ImpulsiveNoise(WaveAugmentation):
    """RawBoost-style signal-dependent impulsive noise: a random fraction of samples is
    perturbed in proportion to its own value (clicks, crackle, bit errors)."""

    def __init__(self, max_fraction: float = 0.1, max_gain: float = 3.0, p: float = 0.5) -> None:
        super().__init__(p)
        self.max_fraction = max_fraction
        self.max_gain = max_gain

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        hit = torch.rand_like(wave) < _uniform(0.0, self.max_fraction)
        jolt = (2 * torch.rand_like(wave) - 1) * _uniform(0.0, self.max_gain)
        return torch.where(hit, wave + wave * jolt, wave)


class BandLimit(WaveAugmentation):
    """Resample down to a random lower rate and back: telephone-like and codec band limits."""

    def __init__(
        self, rates: list[int] | None = None, sample_rate: int = SAMPLE_RATE, p: float = 0.5
    ) -> None:
        super().__init__(p)
        self.rates = rates or [4000, 8000, 11025, 12000]
        self.sample_rate = sample_rate

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        rate = self.rates[int(torch.randint(len(self.rates), ()))]
        narrow = AF.resample(wave, self.sample_rate, rate)
        return AF.resample(narrow, rate, self.sample_rate)[: wave.numel()]


class Codec(WaveAugmentation):
    """Mu-law companding and quantisation with a random bit depth (8 bits is G.711-like;
    fewer bits imitate low bit-rate coding)."""

    def __init__(self, min_bits: int = 4, max_bits: int = 8, p: float = 0.5) -> None:
        super().__init__(p)
        self.min_bits = min_bits
        self.max_bits = max_bits

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        channels = 2 ** int(torch.randint(self.min_bits, self.max_bits + 1, ()))
        peak = wave.abs().max().clamp_min(1e-8)
        coded = AF.mu_law_encoding(wave / peak, channels)
        return AF.mu_law_decoding(coded, channels) * peak


class _Encoded(WaveAugmentation):
    """Encode the crop with a lossy codec and decode it again, at a compression level drawn
    uniformly between ``min_compression`` and ``max_compression`` (0 is the codec's best
    quality), as soundfile (libsndfile) writes it: what a clip goes through when it is shared,
    uploaded or streamed. Both classes alike; the length and alignment are kept."""

    format: str
    subtype: str
    highest: float = 1.0  # the highest compression level libsndfile accepts for the codec

    def __init__(
        self,
        min_compression: float = 0.0,
        max_compression: float = 0.9,
        sample_rate: int = SAMPLE_RATE,
        p: float = 0.3,
    ) -> None:
        super().__init__(p)
        if not 0.0 <= min_compression <= max_compression <= self.highest:
            raise ValueError(
                f"need 0 <= min_compression <= max_compression <= {self.highest}, got "
                f"{min_compression}, {max_compression}"
            )
        self.min_compression = min_compression
        self.max_compression = max_compression
        self.sample_rate = sample_rate

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        level = _uniform(self.min_compression, self.max_compression)
        peak = wave.abs().max().clamp_min(1e-8)
        buffer = io.BytesIO()
        samples = (wave / peak * 0.9).numpy()  # the codec sees full scale, never clipping
        sf.write(buffer, samples, self.sample_rate, self.subtype, format=self.format,
                 compression_level=level)  # fmt: skip
        buffer.seek(0)
        decoded = torch.from_numpy(sf.read(buffer, dtype="float32")[0])
        return fit_length(decoded, wave.numel()) * peak / 0.9


class Mp3(_Encoded):
    """MP3 (MPEG layer III, LAME) at 16 kHz: compression 0 to 0.9 gives roughly 50 down to
    20 kbit/s on speech."""

    format, subtype, highest = "MP3", "MPEG_LAYER_III", 0.9


class Opus(_Encoded):
    """Opus in Ogg at 16 kHz: compression 0 to 1 gives roughly 250 down to 6 kbit/s."""

    format, subtype = "OGG", "OPUS"


class ResampleChain(WaveAugmentation):
    """Resample through ``1`` to ``max_steps`` rates drawn from ``rates`` and back to the
    model's rate: the up- and down-sampling filters of an editing or streaming chain (each
    hop below the model's rate also limits the band)."""

    def __init__(
        self,
        rates: list[int] | None = None,
        max_steps: int = 2,
        sample_rate: int = SAMPLE_RATE,
        p: float = 0.3,
    ) -> None:
        super().__init__(p)
        if max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {max_steps}")
        self.rates = rates or [8000, 11025, 22050, 24000, 32000, 44100, 48000]
        self.max_steps = max_steps
        self.sample_rate = sample_rate

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        steps = int(torch.randint(1, self.max_steps + 1, ()))
        chain = [self.rates[int(torch.randint(len(self.rates), ()))] for _ in range(steps)]
        current, rate = wave, self.sample_rate
        for target in [*chain, self.sample_rate]:
            current, rate = AF.resample(current, rate, target), target
        return fit_length(current, wave.numel())


class Reverb(WaveAugmentation):
    """Room reverberation: convolution with a synthetic impulse response, a direct path then
    exponentially decaying noise that falls 60 dB in a reverberation time ``RT60`` drawn
    uniformly in seconds. By default the tail keeps its natural level, far above the direct
    path (about 28 dB at RT60 0.5 s: a talker far away in a bare room); ``min_drr_db`` and
    ``max_drr_db`` instead draw the direct-to-reverberant energy ratio uniformly (e.g. 0-10 dB
    for a talker near the microphone). The output keeps the input's RMS level."""

    def __init__(
        self,
        min_rt60: float = 0.2,
        max_rt60: float = 0.8,
        min_drr_db: float | None = None,
        max_drr_db: float | None = None,
        p: float = 0.5,
    ) -> None:
        super().__init__(p)
        if not 0.0 < min_rt60 <= max_rt60:
            raise ValueError(f"need 0 < min_rt60 <= max_rt60, got {min_rt60}, {max_rt60}")
        if (min_drr_db is None) != (max_drr_db is None) or (
            min_drr_db is not None and min_drr_db > max_drr_db
        ):
            raise ValueError(
                f"give both min_drr_db <= max_drr_db or neither, got {min_drr_db}, {max_drr_db}"
            )
        self.min_rt60 = min_rt60
        self.max_rt60 = max_rt60
        self.min_drr_db = min_drr_db
        self.max_drr_db = max_drr_db

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        rt60 = _uniform(self.min_rt60, self.max_rt60)
        time = torch.arange(round(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
        response = torch.randn(time.numel()) * torch.exp(-6.9 * time / rt60)  # e^-6.9 = -60 dB
        if self.min_drr_db is not None:
            drr_db = _uniform(self.min_drr_db, self.max_drr_db)
            tail_norm = response[1:].pow(2).sum().sqrt().clamp_min(1e-10)  # sqrt of its energy
            response = response / (tail_norm * 10 ** (drr_db / 20))
        response[0] = 1.0  # the direct path
        wet = AF.fftconvolve(wave, response)[: wave.numel()]
        return wet * wave.pow(2).mean().sqrt() / wet.pow(2).mean().sqrt().clamp_min(1e-10)


class SpecAugment(FeatureAugmentation):
    """SpecAugment frequency and time masks (Park et al., 2019), filled with the mean."""

    def __init__(
        self,
        freq_masks: int = 2,
        max_freq_width: int = 8,
        time_masks: int = 2,
        max_time_width: int = 20,
        p: float = 0.5,
    ) -> None:
        super().__init__(p)
        self.freq_masks = freq_masks
        self.max_freq_width = max_freq_width
        self.time_masks = time_masks
        self.max_time_width = max_time_width

    def apply(self, logmel: torch.Tensor) -> torch.Tensor:
        masked = logmel.clone()
        fill = logmel.mean()
        for axis, count, widest in (
            (-2, self.freq_masks, self.max_freq_width),
            (-1, self.time_masks, self.max_time_width),
        ):
            size = masked.shape[axis]
            for _ in range(count):
                width = int(torch.randint(0, min(widest, size) + 1, ()))
                start = int(torch.randint(0, size - width + 1, ()))
                masked.narrow(axis, start, width).fill_(fill)
        return masked

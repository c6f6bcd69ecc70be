"""Self-generated demo corpus: synthetic bona fide speech and vocoded spoof twins.

Bona fide clips come from a source-filter model (jittered glottal pulses, time-varying
formant resonators, fricatives, aspiration); each spoof is a vocoder resynthesis of one
bona fide clip (same speaker, content and length). Level and duration carry no label
information, so a detector has to learn spectral/phase artefacts. Fully offline and
deterministic, so tests and `make demo` need no downloads.
"""

from __future__ import annotations

import csv
import os
import shutil
import uuid
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF
from scipy.linalg import solve_toeplitz
from scipy.ndimage import gaussian_filter1d
from scipy.signal import butter, lfilter, sosfilt
from tqdm.auto import tqdm

from deepfake_audio.audio import SAMPLE_RATE

DEMO_VERSION: int = 1

_BLOCK = 64  # samples per coefficient update of the time-varying formant filter
# Adult-male vowel formant targets F1..F4 (Hz), scaled per speaker by vocal-tract length.
_VOWELS = np.array(
    [
        [730, 1090, 2440, 3400],
        [270, 2290, 3010, 3700],
        [300, 870, 2240, 3300],
        [530, 1840, 2480, 3500],
        [570, 840, 2410, 3300],
        [660, 1720, 2410, 3400],
        [490, 1350, 1690, 3300],
    ],
    dtype=np.float64,
)
_BANDWIDTHS = np.array([70.0, 100.0, 140.0, 200.0])
_GENERATORS = ("griffinlim_mel", "lpc_pulse")


def default_demo_root() -> Path:
    """Cache folder of the default demo corpus (versioned so generator changes invalidate it)."""
    base = os.environ.get("DEEPFAKE_AUDIO_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "deepfake-audio"
    return root / f"demo-v{DEMO_VERSION}"


def _speaker(rng: np.random.Generator) -> dict[str, float]:
    """Stable per-speaker voice parameters; shorter vocal tracts go with higher voices."""
    f0 = float(np.exp(rng.uniform(np.log(85.0), np.log(260.0))))
    pitch_pos = np.log(f0 / 85.0) / np.log(260.0 / 85.0)
    return {
        "f0": f0,
        "vtl": 0.92 + 0.28 * pitch_pos + rng.normal(0.0, 0.03),
        "breath": rng.uniform(0.02, 0.15),
        "rate": rng.uniform(3.0, 5.5),
        "jitter": rng.uniform(0.005, 0.02),
        "shimmer": rng.uniform(0.03, 0.08),
        "open_q": rng.uniform(0.5, 0.7),
    }


def _plan(n: int, spk: dict[str, float], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Lay out pauses and syllables: voicing/frication envelopes and formant tracks per sample."""
    voiced, fric, breath = np.zeros(n), np.zeros(n), np.zeros(n)
    knots_t, knots_f = [0], [_VOWELS[rng.integers(len(_VOWELS))]]
    t, end = (
        int(rng.uniform(0.15, 0.35) * SAMPLE_RATE),
        n - int(rng.uniform(0.15, 0.35) * SAMPLE_RATE),
    )
    while t < end - 0.1 * SAMPLE_RATE:
        if rng.random() < 0.12 and t > 0.5 * SAMPLE_RATE:
            d = min(int(rng.uniform(0.1, 0.3) * SAMPLE_RATE), end - t)
            breath[t : t + d] = np.sin(np.linspace(0, np.pi, d)) ** 2
            t += d
            continue
        d = min(int(rng.uniform(0.7, 1.3) / spk["rate"] * SAMPLE_RATE), end - t)
        v0 = t
        if rng.random() < 0.35:  # fricative onset
            fd = int(d * rng.uniform(0.25, 0.45))
            fric[t : t + fd] = rng.uniform(0.4, 1.0) * np.sin(np.linspace(0, np.pi, fd)) ** 0.5
            v0 = t + int(0.8 * fd)
        seg = t + d - v0
        voiced[v0 : t + d] = rng.uniform(0.6, 1.0) * np.sin(np.linspace(0, np.pi, seg)) ** 0.6
        knots_t.append(v0 + seg // 2)
        knots_f.append(_VOWELS[rng.integers(len(_VOWELS))] * rng.uniform(0.95, 1.05, 4))
        t += d
    knots_t.append(n)
    knots_f.append(knots_f[-1])
    centres, kf = np.arange(_BLOCK // 2, n, _BLOCK), np.array(knots_f) * spk["vtl"]
    formants = np.stack([np.interp(centres, knots_t, kf[:, i]) for i in range(4)])
    return {
        "voiced": voiced,
        "fric": fric,
        "breath": breath,
        "formants": gaussian_filter1d(formants, 0.02 * SAMPLE_RATE / _BLOCK, axis=1),
    }


def _f0_track(n: int, spk: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """Smooth f0 contour: speaker base, declination and random intonation knots every ~250 ms."""
    knots = rng.normal(0.0, 0.08, n // (SAMPLE_RATE // 4) + 2)
    ctrl = np.arange(0, n + _BLOCK, _BLOCK)  # smooth at control rate, then upsample
    inton = np.interp(ctrl, np.arange(len(knots)) * (SAMPLE_RATE // 4), knots)
    inton = gaussian_filter1d(inton, 0.05 * SAMPLE_RATE / _BLOCK)
    return spk["f0"] * np.exp(np.interp(np.arange(n), ctrl, inton) + np.linspace(0.05, -0.15, n))


def _glottal(
    f0: np.ndarray, spk: dict[str, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rosenberg glottal flow with per-cycle jitter and shimmer; returns (flow derivative, flow)."""
    cycle = np.floor(np.cumsum(f0) / SAMPLE_RATE).astype(int)
    jit = rng.normal(0.0, spk["jitter"], cycle[-1] + 2)
    phase = np.cumsum(f0 * (1.0 + jit[cycle])) / SAMPLE_RATE
    cycle, frac = np.floor(phase).astype(int), phase % 1.0
    shim = 1.0 + rng.normal(0.0, spk["shimmer"], cycle[-1] + 2)[cycle]
    tp, tn = spk["open_q"] * 0.7, spk["open_q"] * 0.3
    flow = (
        np.where(
            frac < tp,
            0.5 * (1 - np.cos(np.pi * frac / tp)),
            np.where(frac < tp + tn, np.cos(0.5 * np.pi * (frac - tp) / tn), 0.0),
        )
        * shim
    )
    return np.diff(flow, prepend=0.0), flow


def _formant_filter(x: np.ndarray, formants: np.ndarray) -> np.ndarray:
    """Cascade of 2-pole resonators (as one 8th-order all-pole filter) updated every block."""
    r = np.exp(-np.pi * _BANDWIDTHS[:, None] / SAMPLE_RATE)
    c1, c2 = (
        -2.0 * r * np.cos(2 * np.pi * formants / SAMPLE_RATE),
        np.broadcast_to(r * r, formants.shape),
    )
    den = np.ones((formants.shape[1], 1))
    for k in range(4):  # multiply the section polynomials, all blocks at once
        coefs = (1.0, c1[k, :, None], c2[k, :, None])
        den = sum(np.pad(den * c, ((0, 0), (j, 2 - j))) for j, c in enumerate(coefs))
    gain = den.sum(axis=1)  # unity gain at DC
    y, zi = np.empty_like(x), np.zeros(8)
    for b in range(den.shape[0]):
        sl = slice(b * _BLOCK, (b + 1) * _BLOCK)
        y[sl], zi = lfilter(gain[b : b + 1], den[b], x[sl], zi=zi)
    return y


def _bona_fide(
    n: int, spk: dict[str, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthesise one clip; returns (waveform, f0 track, voicing degree) for the vocoders."""
    plan, f0 = _plan(n, spk, rng), _f0_track(n, spk, rng)
    dflow, flow = _glottal(f0, spk, rng)
    noise = rng.standard_normal((2, n))
    source = dflow / (np.abs(dflow).max() + 1e-9)
    aspiration = spk["breath"] * noise[0] * (0.3 + flow) * 0.3
    excitation = (source + aspiration) * plan["voiced"] + 0.02 * noise[0] * plan["breath"]
    speech = _formant_filter(excitation, plan["formants"])
    hiss = sosfilt(
        butter(4, rng.uniform(2500, 5000), "highpass", fs=SAMPLE_RATE, output="sos"), noise[1]
    )
    speech = speech / (np.abs(speech).max() + 1e-9)
    speech += rng.uniform(0.1, 0.3) * hiss / (np.abs(hiss).max() + 1e-9) * plan["fric"]
    voicing = plan["voiced"] / (plan["voiced"] + plan["fric"] + plan["breath"] + 1e-3)
    return speech, f0, voicing


def _griffinlim_mel(x: np.ndarray, gen: torch.Generator) -> np.ndarray:
    """80-band mel spectrogram -> pseudo-inverse magnitude -> 32 Griffin-Lim iterations."""
    n_fft, hop, wav = 1024, 256, torch.from_numpy(x).float()
    win = torch.hann_window(n_fft)
    spec = torch.stft(wav, n_fft, hop, window=win, return_complex=True)
    fb = AF.melscale_fbanks(
        n_fft // 2 + 1, 0.0, SAMPLE_RATE / 2, 80, SAMPLE_RATE, norm="slaney", mel_scale="slaney"
    )
    mel = fb.T @ spec.abs().pow(2)
    mag = (torch.linalg.pinv(fb.T) @ mel).clamp(min=0.0).sqrt()
    angles = torch.exp(2j * np.pi * torch.rand(mag.shape, generator=gen))
    for _ in range(32):
        y = torch.istft(mag * angles, n_fft, hop, window=win, length=len(x))
        rebuilt = torch.stft(y, n_fft, hop, window=win, return_complex=True)
        angles = rebuilt / (rebuilt.abs() + 1e-8)
    return torch.istft(mag * angles, n_fft, hop, window=win, length=len(x)).double().numpy()


def _lpc_pulse(
    x: np.ndarray, f0: np.ndarray, voicing: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Order-18 LPC envelope per 10 ms frame, re-excited by a jitter-free impulse train or noise.

    The f0 track and voicing come from the synthesiser, i.e. an ideal pitch tracker.
    """
    frame, hop, order, n = 400, 160, 18, len(x)
    padded, win = np.pad(x, frame // 2), np.hanning(frame)
    n_frames = n // hop + 1
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame)[::hop][:n_frames] * win
    acf = np.fft.irfft(np.abs(np.fft.rfft(frames, 1024)) ** 2)[:, : order + 1]
    phase = np.cumsum(f0) / SAMPLE_RATE
    pulses = np.diff(np.floor(phase), prepend=0.0) * np.sqrt(SAMPLE_RATE / f0)
    v = np.interp(np.arange(n), np.arange(n_frames) * hop, voicing[::hop][:n_frames])
    exc = v * pulses + np.sqrt(1.0 - v**2 + 0.01) * rng.standard_normal(n)
    y, zi = np.zeros(n), np.zeros(order)
    for i in range(n_frames):
        r = acf[i]
        if r[0] < 1e-8:
            a, err = np.zeros(order), 0.0
        else:
            r = r * np.exp(-0.5 * (2 * np.pi * 40 * np.arange(order + 1) / SAMPLE_RATE) ** 2)
            r[0] *= 1.0001  # lag window + white-noise correction keep the filter stable
            a = solve_toeplitz(r[:order], r[1:])
            err = max(r[0] - a @ r[1:], 0.0)
        sl = slice(i * hop, min((i + 1) * hop, n))
        gain = np.sqrt(err / np.sum(win**2))
        y[sl], zi = lfilter([gain], np.concatenate(([1.0], -a)), exc[sl], zi=zi)
    return y


def _finish(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Post-processing shared by both classes: 50 Hz high-pass, noise floor, fades, random peak."""
    x = sosfilt(butter(2, 50.0, "highpass", fs=SAMPLE_RATE, output="sos"), x)
    x = x / (np.abs(x).max() + 1e-12)
    x = x + 10 ** (rng.uniform(-70, -55) / 20) * rng.standard_normal(len(x))
    fade = np.linspace(0.0, 1.0, int(0.01 * SAMPLE_RATE))
    x[: len(fade)] *= fade
    x[-len(fade) :] *= fade[::-1]
    return x * 10 ** (rng.uniform(-12, -1) / 20) / np.abs(x).max()


def _speaker_clips(seed: int, s: int, clips_per_speaker: int, ids: np.ndarray, root: Path) -> list:
    """Write speaker ``s``'s bona fide clips and their spoof twins; their metadata rows."""
    spk = _speaker(np.random.default_rng([seed, s]))
    rows = []
    for c in range(clips_per_speaker):
        rng = np.random.default_rng([seed, s, c])
        n = int(rng.uniform(3.0, 6.0) * SAMPLE_RATE)
        bona, f0, voicing = _bona_fide(n, spk, rng)
        gen_name = _GENERATORS[(s + c) % len(_GENERATORS)]
        spoof_rng = np.random.default_rng([seed, s, c, 1])
        if gen_name == "griffinlim_mel":
            torch_gen = torch.Generator().manual_seed(int(spoof_rng.integers(2**62)))
            spoof = _griffinlim_mel(bona, torch_gen)
        else:
            spoof = _lpc_pulse(bona, f0, voicing, spoof_rng)
        twins = ((bona, "bona-fide", "-"), (spoof, "spoof", gen_name))
        for k, (wav, label, gen) in enumerate(twins):
            fid = int(ids[2 * (s * clips_per_speaker + c) + k])
            out = _finish(wav, np.random.default_rng([seed, s, c, 2 + k]))
            sf.write(root / f"{fid}.flac", out, SAMPLE_RATE, subtype="PCM_16", format="FLAC")
            rows.append((fid, f"demo{s:02d}", label, gen, f"{n / SAMPLE_RATE:.3f}"))
    return rows


def make_demo_corpus(
    root: Path,
    n_speakers: int = 12,
    clips_per_speaker: int = 12,
    seed: int = 0,
    workers: int | None = None,
) -> Path:
    """Write the corpus into root in the In-the-Wild layout (meta.csv + N.flac) and return root.

    Speakers are made in ``workers`` processes (default: one per core) with a progress bar; each
    clip depends only on the seed, its speaker and its number, so the corpus is the same
    whatever the number of workers."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    n_files = 2 * n_speakers * clips_per_speaker
    ids = np.random.default_rng([seed, 1_000_003]).permutation(n_files)  # hide label in file order
    workers = (os.cpu_count() or 1) if workers is None else workers
    make = partial(_speaker_clips, seed, clips_per_speaker=clips_per_speaker, ids=ids, root=root)
    bar = tqdm(total=n_files, desc="making the demo corpus", unit="clip", disable=n_files < 50)
    rows: list[tuple[int, str, str, str, str]] = []
    if workers > 1 and n_speakers > 1:
        # One thread per process: the workers share the cores.
        with ProcessPoolExecutor(
            min(workers, n_speakers), initializer=torch.set_num_threads, initargs=(1,)
        ) as pool:
            for speaker_rows in pool.map(make, range(n_speakers)):
                rows += speaker_rows
                bar.update(len(speaker_rows))
    else:
        for s in range(n_speakers):
            rows += make(s)
            bar.update(2 * clips_per_speaker)
    bar.close()
    rows.sort()
    with open(root / "meta_full.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "speaker", "label", "generator", "duration"])
        writer.writerows([(f"{fid}.flac", *rest) for fid, *rest in rows])
    with open(root / "meta.csv", "w", newline="") as fh:  # written last: its presence marks "ready"
        writer = csv.writer(fh)
        writer.writerow(["file", "speaker", "label"])
        writer.writerows([(f"{fid}.flac", who, label) for fid, who, label, _, _ in rows])
    return root


def ensure_demo_corpus(root: Path | None = None, **kwargs: int) -> Path:
    """Return a ready demo corpus, generating it atomically (temp sibling + rename) on first use."""
    root = Path(root) if root is not None else default_demo_root()
    if (root / "meta.csv").exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        make_demo_corpus(tmp, **kwargs)
        os.rename(tmp, root)
    except OSError:
        if not (root / "meta.csv").exists():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root

"""``deepfake serve --model MODEL``: a web app that tells real from AI-generated speech.

Upload a clip or record one in the browser (recording needs a secure context: localhost or
HTTPS, so the app binds to 127.0.0.1 unless ``--host`` says otherwise). The app shows the
verdict, the score of every window over time and the clip as the model sees it (its log-mel
spectrogram, or the cepstra and phase rows its features name).

Gradio stores every upload, and every recording (which the browser sends as a WAV upload),
under ``GRADIO_TEMP_DIR``; ``serve`` points that at a temporary folder of its own, removed when
the server stops (Ctrl-C or SIGTERM). Figures travel to the browser inline and write no files.
Gradio itself, at import, fixes a second folder (``$TMPDIR/gradio``) for routes this app does
not use (screen recording, MCP); it only creates an empty ``vibe_edit_history`` there.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gradio as gr
import numpy as np
import soundfile as sf
import torch
from matplotlib.figure import Figure

from deepfake_audio.console import command_parser
from deepfake_audio.features import SpectralFeatures
from deepfake_audio.runs import RunFolder
from deepfake_audio.serve.builtin import DEFAULT, builtin_model
from deepfake_audio.serve.fusion import load_detector
from deepfake_audio.serve.scoring import Detection, WindowedDetector

VERDICTS = {"bona-fide": "Real", "spoof": "Fake"}
Outputs = tuple[str, Figure | None, Figure | None]


def model_name(path: Path) -> str:
    """A package's folder name; for a checkpoint, its run and file (``lstm/version_0/best.ckpt``:
    Lightning's ``checkpoints/`` folder is skipped, as every run has one)."""
    if path.is_dir():
        return path.name
    run = path.resolve().parent
    if run == RunFolder.of(path.resolve()).checkpoints:
        run = run.parent
    return "/".join(part.name for part in (run.parent, run, path) if part.name)


def window_figure(detection: Detection, threshold: float) -> Figure:
    """Each window's P(bona fide) at its start time, against the threshold."""
    figure = Figure(figsize=(6, 3), layout="constrained")
    axes = figure.subplots()
    axes.plot(detection.starts, detection.windows, marker="o", label="window score")
    axes.axhline(threshold, color="tab:red", linestyle="--", label=f"threshold {threshold:.2f}")
    axes.set(
        title="Score per window",
        xlabel="window start (s)",
        ylabel="P(bona fide)",
        ylim=(-0.02, 1.02),
    )
    axes.legend(loc="best", fontsize="small")
    return figure


def input_rows(features: SpectralFeatures) -> tuple[str, list[int] | None]:
    """A title naming the rows of the model's input and the rows where each kind of value
    starts after the first (static, Δ, ΔΔ, phase deviations); None for a plain spectrogram."""
    kind = "mel" if features.scale == "mel" else "linear"
    if features.blocks == (features.n_mels,) and not features.cepstra:
        return f"Log {kind} spectrogram ({features.n_mels} bands)", None
    per_order = features.cepstra or features.n_mels
    values = (
        f"{features.cepstra} {'MFCC' if kind == 'mel' else 'LFCC'}s"
        if features.cepstra
        else f"{features.n_mels} log {kind} bands"
    )
    orders = ["static"] * features.static + ["Δ", "ΔΔ"][: features.deltas]
    title = f"{values} ({', '.join(orders)})"
    starts = [per_order * order for order in range(1, len(orders))]
    if features.phase:
        title += f" + {features.n_mels} bands' phase deviations"
        starts.append(features.blocks[0])
    return title, starts


def spectrogram_figure(detector: WindowedDetector, wave: torch.Tensor, duration: float) -> Figure:
    """The whole clip as the model's front end computes it: a plain log spectrogram as it is,
    or its cepstra, deltas and phase rows standardised as the model sees them (the cepstral
    rows together, the phase rows apart), with a line where each kind starts. A front end that
    is not spectral (an encoder's layers, the waveform) is shown by the spectral features it
    names (:meth:`~deepfake_audio.features.Features.shown_as`)."""
    features = detector.spec.features.shown_as()
    if features is detector.spec.features:
        rows = detector.front_end(wave.to(detector.device)).cpu()
    else:
        rows = features.front_end()(wave)
    title, starts = input_rows(features)
    figure = Figure(figsize=(6, 3), layout="constrained")
    axes = figure.subplots()
    if starts is not None:
        rows = features.normalise(rows)
    # A few extreme values (standardised rows reach ±30) would set the colour range and leave
    # the rest one flat colour: the range is the 1st to 99th percentile.
    low, high = np.percentile(rows.numpy(), [1, 99])
    image = axes.imshow(
        rows.numpy(),
        origin="lower",
        aspect="auto",
        extent=(0, duration, 0, rows.shape[0]),
        vmin=low,
        vmax=high,
    )
    for start in starts or []:
        axes.axhline(start, color="white", linewidth=0.8)
    plain = starts is None
    label = f"{features.scale} band" if plain else "feature row"
    axes.set(title=title, xlabel="time (s)", ylabel=label)
    figure.colorbar(image, ax=axes, label="log power" if plain else "standardised value")
    return figure


def analyse(detector: WindowedDetector, path: str | Path | None, max_seconds: float) -> Outputs:
    """Verdict text and figures for one clip; unusable input gets a message and no figures."""
    if not path:
        return "Upload or record a clip first.", None, None
    name = Path(path).name
    if os.path.getsize(path) == 0:
        return f"'{name}' is empty: please upload a speech recording.", None, None
    try:
        duration = sf.info(str(path)).duration
        if duration > max_seconds:
            return (
                f"The clip is {duration:.1f} s long; this app scores at most {max_seconds:g} s. "
                "Please upload a shorter clip.",
                None,
                None,
            )
        wave = detector.read(path)
    except Exception:  # soundfile raises several types for input that is not audio
        return (
            f"'{name}' could not be read as audio: please upload a speech recording "
            "(WAV, FLAC, OGG or MP3).",
            None,
            None,
        )
    detection = detector.detect_wave(wave, str(path))
    verdict = (
        f"The audio is classified as {VERDICTS[detection.prediction]} "
        f"with {detection.confidence:.2%} confidence.\n"
        f"Score P(bona fide) = {detection.score:.4f}, threshold {detector.threshold:.4f}; "
        f"{detection.duration:.1f} s in {len(detection.windows)} window(s).\n"
        f"The model {detector.description}."
    )
    return (
        verdict,
        window_figure(detection, detector.threshold),
        spectrogram_figure(detector, wave, detection.duration),
    )


def build_app(models: dict[str, WindowedDetector], max_seconds: float) -> gr.Blocks:
    """The page: clip and model in, verdict and figures out (API endpoint ``/analyse``).

    Build and launch it inside :func:`temp_dir` to keep its uploads there: gradio reads
    ``GRADIO_TEMP_DIR`` when components are made and again at launch.
    """
    with gr.Blocks(title="Deepfake audio detector", analytics_enabled=False) as app:
        gr.Markdown(
            "# Deepfake audio detector\n"
            "Upload or record speech (at most "
            f"{max_seconds:g} s) to learn whether it is real or AI-generated."
        )
        with gr.Row():
            with gr.Column():
                audio = gr.Audio(
                    sources=["upload", "microphone"], type="filepath", label="Speech clip"
                )
                model = gr.Dropdown(
                    list(models), value=next(iter(models)), label="Model", visible=len(models) > 1
                )
                button = gr.Button("Analyse", variant="primary")
            verdict = gr.Textbox(label="Verdict", lines=4, interactive=False)
        with gr.Row():
            windows = gr.Plot(label="Score per window", show_label=False)
            spectrogram = gr.Plot(label="Model input", show_label=False)

        def score(path: str | None, name: str) -> Outputs:
            """Score the uploaded or recorded clip with the chosen model."""
            return analyse(models[name], path, max_seconds)

        button.click(score, [audio, model], [verdict, windows, spectrogram], api_name="analyse")
    return app


@contextmanager
def temp_dir() -> Iterator[str]:
    """A temporary folder as ``GRADIO_TEMP_DIR`` while the context lasts, then removed."""
    previous = os.environ.get("GRADIO_TEMP_DIR")
    with tempfile.TemporaryDirectory(prefix="deepfake-serve-") as folder:
        os.environ["GRADIO_TEMP_DIR"] = folder
        try:
            yield folder
        finally:
            if previous is None:
                del os.environ["GRADIO_TEMP_DIR"]
            else:
                os.environ["GRADIO_TEMP_DIR"] = previous


def main(args: list[str]) -> int:
    """Load the models once, then serve until interrupted."""
    parser = command_parser("deepfake serve", "Web app: upload or record audio, get a verdict.")
    parser.add_argument(
        "--model",
        action="append",
        type=Path,
        help="checkpoint (.ckpt) or exported package folder; repeat for a model picker "
        "(default: the built-in model)",
    )
    parser.add_argument(
        "--builtin",
        default=DEFAULT,
        help=f"the built-in model when no --model is given (default {DEFAULT!r})",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--max-upload-mb", type=float, default=20, help="largest upload, MiB")
    parser.add_argument("--max-seconds", type=float, default=600, help="longest clip scored")
    options = parser.parse_args(args)
    models: dict[str, WindowedDetector] = {}
    for path in options.model or [builtin_model(options.builtin)]:
        if model_name(path) in models:
            parser.error(f"two models are named {model_name(path)!r}: rename one's folder")
        try:
            models[model_name(path)] = load_detector(path)
        except Exception as error:  # torch.load and safetensors raise many types
            parser.error(f"cannot load {path}: {str(error).splitlines()[0]}")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop like Ctrl-C: clean up
    with temp_dir():
        app = build_app(models, options.max_seconds)
        app.launch(
            server_name=options.host,
            server_port=options.port,
            max_file_size=round(options.max_upload_mb * 1024**2),
            quiet=True,  # no hint to publish the app: it serves this machine
            prevent_thread_lock=True,
        )
        print(f"deepfake serve: {app.local_url} (Ctrl-C stops)", flush=True)
        app.block_thread()
    return 0

"""The web app: ``analyse`` directly, the ``/analyse`` API through gradio_client, and the page
(upload and microphone recording) in headless Chromium. Servers bind to 127.0.0.1 only."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import CONFIG_DIR, REPO, needs_whisper, run_cli, small_run_args
from gradio_client import Client, handle_file
from playwright.sync_api import Browser, Page, Response, expect, sync_playwright

from deepfake_audio.features import SpectralFeatures
from deepfake_audio.serve.app import (
    analyse,
    build_app,
    input_rows,
    model_name,
    spectrogram_figure,
    temp_dir,
)
from deepfake_audio.serve.inference import AudioDetector

pytestmark = pytest.mark.slow  # every test here fits models or serves the app

MAX_SECONDS = 10.0
VERDICT = re.compile(
    r"The audio is classified as (Real|Fake) with \d+\.\d\d% confidence\.\n"
    r"Score P\(bona fide\) = [\d.]+, threshold [\d.]+; [\d.]+ s in \d+ window\(s\)\.\n"
    r"The model reads [^\n]+\."
)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",  # grant the microphone without asking
    "--use-fake-device-for-media-stream",  # a synthetic microphone (a beeping tone)
]


@pytest.fixture(scope="module")
def model_paths(tiny_corpus: Path, module_folder: Callable[[str], Path]) -> list[Path]:
    """A one-epoch LSTM twice: its checkpoint and its exported package."""
    root = module_folder("app-model")
    run_args = small_run_args(tiny_corpus, root, batch_size=4)
    run_cli(["fit", "--config=configs/lstm.yaml", *run_args, "--trainer.max_epochs=1"])
    checkpoint = root / "lstm" / "version_0" / "checkpoints" / "best.ckpt"
    with pytest.raises(SystemExit) as exported:  # plain subcommands exit with their status
        run_cli(["export", "--ckpt", str(checkpoint), "--out", str(root / "package")])
    assert exported.value.code == 0
    return [checkpoint, root / "package"]


@pytest.fixture(scope="module")
def models(model_paths: list[Path]) -> dict[str, AudioDetector]:
    return {model_name(path): AudioDetector.load(path, device="cpu") for path in model_paths}


@pytest.fixture(scope="module")
def detector(models: dict) -> AudioDetector:
    """The model the app picks by default."""
    return next(iter(models.values()))


@pytest.fixture(scope="module")
def clips(tiny_corpus: Path, module_folder: Callable[[str], Path]) -> dict[str, Path]:
    """A good clip, a text file named .wav, an empty .wav and a clip over MAX_SECONDS."""
    folder = module_folder("clips")
    (folder / "notes.wav").write_text("not audio at all\n")
    (folder / "empty.wav").write_bytes(b"")
    noise = np.random.default_rng(0).normal(0, 0.1, int(16_000 * (MAX_SECONDS + 1)))
    sf.write(folder / "long.wav", noise.astype("float32"), 16_000)
    return {"good": tiny_corpus / "0.flac", **{path.stem: path for path in folder.iterdir()}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(models: dict, **launch: Any) -> Iterator[tuple[str, Path]]:
    """The app on a free loopback port, uploads in a temporary folder: (url, folder)."""
    with temp_dir() as folder:
        app = build_app(models, MAX_SECONDS)
        _, url, _ = app.launch(
            server_name="127.0.0.1",
            server_port=free_port(),
            prevent_thread_lock=True,
            quiet=True,
            **launch,
        )
        try:
            yield url, Path(folder)
        finally:
            app.close(verbose=False)


@pytest.fixture(scope="module")
def server(models: dict) -> Iterator[tuple[str, Path]]:
    with serving(models) as running:
        yield running


def connect(url: str) -> Client:
    return Client(url, verbose=False, download_files=False, analytics_enabled=False)


def test_model_names(models: dict) -> None:
    assert list(models) == ["lstm/version_0/best.ckpt", "package"]


def test_analyse_good_clip(detector: AudioDetector, clips: dict) -> None:
    verdict, windows, spectrogram = analyse(detector, clips["good"], MAX_SECONDS)
    assert VERDICT.fullmatch(verdict), verdict
    detection = detector.detect_file(clips["good"])
    assert f"{detection.confidence:.2%}" in verdict
    assert f"threshold {detector.threshold:.4f}" in verdict
    assert windows.axes[0].get_xlabel() == "window start (s)"
    assert len(windows.axes[0].lines[0].get_xdata()) == len(detection.windows)
    assert spectrogram.axes[0].get_xlabel() == "time (s)"


@pytest.mark.parametrize(
    ("features", "title", "starts"),
    [
        ({}, "Log mel spectrogram (50 bands)", None),
        ({"cepstra": 20, "scale": "linear"}, "20 LFCCs (static)", []),
        ({"cepstra": 20, "deltas": 2}, "20 MFCCs (static, Δ, ΔΔ)", [20, 40]),
        (
            {"n_mels": 40, "cepstra": 20, "deltas": 2, "static": False, "phase": True},
            "20 MFCCs (Δ, ΔΔ) + 40 bands' phase deviations",
            [20, 40],
        ),
    ],
)
def test_the_input_figure_names_and_splits_the_rows_the_model_sees(
    features: dict, title: str, starts: list[int] | None
) -> None:
    settings = SpectralFeatures(n_fft=512, hop_length=160, **features)
    assert input_rows(settings) == (title, starts)
    spec = SimpleNamespace(features=settings)
    detector = SimpleNamespace(spec=spec, front_end=settings.front_end(), device="cpu")
    wave = torch.from_numpy(np.random.default_rng(0).normal(0, 0.1, 16_000).astype("float32"))
    axes = spectrogram_figure(detector, wave, 1.0).axes[0]
    assert axes.get_title() == title
    assert [line.get_ydata()[0] for line in axes.lines] == (starts or [])
    image = axes.images[0].get_array()
    assert image.shape[0] == settings.frame_size
    if starts is not None:  # each kind of value standardised on its own, as the model sees it
        for block in np.split(image, np.cumsum(settings.blocks)[:-1]):
            assert abs(block.mean()) < 1e-4 and abs(block.std() - 1) < 1e-2


@pytest.mark.parametrize(
    ("clip", "message"),
    [
        ("notes", "'notes.wav' could not be read as audio"),
        ("empty", "'empty.wav' is empty"),
        ("long", "The clip is 11.0 s long; this app scores at most 10 s."),
    ],
)
def test_analyse_unusable_input(
    detector: AudioDetector, clips: dict, clip: str, message: str, monkeypatch
) -> None:
    # none of them gets decoded: the header (soundfile.info) is checked first
    monkeypatch.setattr(detector, "read", lambda *_: pytest.fail("decoded"))
    verdict, windows, spectrogram = analyse(detector, clips[clip], MAX_SECONDS)
    assert message in verdict
    assert windows is None and spectrogram is None


def test_api_scores_like_analyse(models: dict, clips: dict, server: tuple) -> None:
    url, folder = server
    client = connect(url)
    for name, detector in models.items():
        verdict, windows, spectrogram = client.predict(
            handle_file(clips["good"]), name, api_name="/analyse"
        )
        assert verdict == analyse(detector, clips["good"], MAX_SECONDS)[0]
        assert windows and spectrogram
    assert list(folder.rglob("0.flac")), "uploads belong in the app's own temporary folder"


@pytest.mark.parametrize(
    ("clip", "message"),
    [("notes", "could not be read as audio"), ("empty", "is empty"), ("long", "at most 10 s")],
)
def test_api_unusable_input(clips: dict, server: tuple, clip: str, message: str) -> None:
    verdict, windows, spectrogram = connect(server[0]).predict(
        handle_file(clips[clip]), api_name="/analyse"
    )
    assert message in verdict
    assert windows is None and spectrogram is None


def test_api_rejects_oversize_upload(models: dict, clips: dict) -> None:
    good = clips["good"]
    with serving(models, max_file_size=good.stat().st_size - 1) as (url, folder):
        client = connect(url)
        with pytest.raises(ValueError, match="exceeds the maximum file size"):
            client.predict(handle_file(good), api_name="/analyse")  # the client checks first
        upload = httpx.post(client.upload_url, files=[("files", (good.name, good.read_bytes()))])
        assert upload.status_code == 413  # and the server refuses whatever a client does
        assert "File size exceeded maximum allowed size" in upload.text
        assert not list(folder.rglob("0.flac"))
        verdict = client.predict(handle_file(clips["notes"]), api_name="/analyse")[0]
        assert "could not be read as audio" in verdict  # still serving


@pytest.mark.slow  # a fresh process imports torch and gradio: ~15 s
def test_serve_command(model_paths: list[Path], clips: dict, tmp_path: Path) -> None:
    """``deepfake serve`` answers on loopback, keeps uploads in a folder of its own and
    removes that folder when stopped with SIGTERM."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, "-m", "deepfake_audio.cli", "serve", f"--port={port}"]
    command += [f"--model={path}" for path in model_paths]
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_TEMP_DIR"}  # serve sets its own
    env |= {"OMP_NUM_THREADS": "1", "TMPDIR": str(tmp_path)}
    server = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        for _ in range(600):
            assert server.poll() is None, server.communicate()[0]
            with suppress(httpx.TransportError):
                if httpx.get(url).is_success:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("deepfake serve did not answer within 60 s")
        verdict = connect(url).predict(handle_file(clips["good"]), api_name="/analyse")[0]
        assert VERDICT.fullmatch(verdict), verdict
        [folder] = tmp_path.glob("deepfake-serve-*")
        assert list(folder.rglob("0.flac"))
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output
    assert not list(tmp_path.glob("deepfake-serve-*")), output


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"chromium not installed at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def is_upload(response: Response) -> bool:
    return urlsplit(response.url).path.endswith("/upload")


def submit(page: Page, give_clip: Callable[[], None]) -> tuple[str, str]:
    """Give the page a clip with ``give_clip()``, press Analyse; (server path, verdict)."""
    with page.expect_response(is_upload) as upload:
        give_clip()
    page.get_by_role("button", name="Play", exact=True).wait_for()  # the clip is loaded
    page.get_by_role("button", name="Analyse").click()
    verdict = page.get_by_label("Verdict")
    expect(verdict).to_have_value(VERDICT)
    return upload.value.json()[0], verdict.input_value()


def test_browser_upload(
    browser: Browser, server: tuple, detector: AudioDetector, clips: dict
) -> None:
    page = browser.new_page()
    page.goto(server[0])
    path, verdict = submit(
        page, lambda: page.locator("input[type=file]").set_input_files(clips["good"])
    )
    assert Path(path).is_relative_to(server[1])
    assert verdict == analyse(detector, clips["good"], MAX_SECONDS)[0]


def test_browser_recording(browser: Browser, server: tuple, detector: AudioDetector) -> None:
    page = browser.new_page()
    page.goto(server[0])
    page.get_by_role("button", name="Record audio").click()
    page.locator("button.record-button").click()
    page.wait_for_timeout(2000)
    path, verdict = submit(page, lambda: page.locator("button.stop-button").click())
    assert Path(path).is_relative_to(server[1])
    assert sf.info(path).format == "WAV"  # the browser sends recordings as WAV uploads
    assert verdict == analyse(detector, path, MAX_SECONDS)[0]


def test_sixteen_concurrent_requests_all_get_the_right_answer(
    models: dict, clips: dict, server: tuple
) -> None:
    url, _ = server
    expected = {
        (name, clip): analyse(detector, clips[clip], MAX_SECONDS)[0]
        for name, detector in models.items()
        for clip in ("good", "notes")
    }
    jobs = [list(expected)[i % len(expected)] for i in range(16)]

    def ask(job: tuple[str, str]) -> str:
        name, clip = job
        return connect(url).predict(handle_file(clips[clip]), name, api_name="/analyse")[0]

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(ask, jobs))
    assert answers == [expected[job] for job in jobs]


@pytest.mark.parametrize(
    "config",
    [
        "rawnet2",
        *(pytest.param(c, marks=needs_whisper) for c in ("whisper_lcnn", "whisper_linear")),
    ],
)
def test_the_app_scores_waveform_and_whisper_models(
    config: str, tiny_corpus: Path, clips: dict, tmp_path: Path
) -> None:
    path = CONFIG_DIR / f"{config}.yaml"
    run_args = [*small_run_args(tiny_corpus, tmp_path, 4, path), "--trainer.max_epochs=1"]
    run_cli(["fit", f"--config={path}", *run_args])
    checkpoint = tmp_path / config / "version_0" / "checkpoints" / "best.ckpt"
    detector = AudioDetector.load(checkpoint, device="cpu")
    verdict, windows, spectrogram = analyse(detector, clips["good"], MAX_SECONDS)
    assert VERDICT.fullmatch(verdict), verdict
    assert f"{detector.detect_file(clips['good']).score:.4f}" in verdict
    assert spectrogram.axes[0].images  # the clip as a spectrogram, whatever the model reads

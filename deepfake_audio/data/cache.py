"""On-disk cache of whole-utterance arrays (front-end output or waveform), built once in
parallel.

Building the cache is also the corpus's health check: every file is decoded once, and the ones
that cannot be used are recorded with the reason instead of failing later inside a DataLoader.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from deepfake_audio.audio import fit_length, load_audio
from deepfake_audio.data.augment import WaveAugmentation
from deepfake_audio.features import Features
from deepfake_audio.windows import window_starts

CACHE_VERSION = 3


def default_cache_dir() -> Path:
    """``$DEEPFAKE_AUDIO_CACHE/arrays``, else ``~/.cache/deepfake-audio/arrays``."""
    base = os.environ.get("DEEPFAKE_AUDIO_CACHE") or Path.home() / ".cache" / "deepfake-audio"
    return Path(base) / "arrays"


@dataclass(frozen=True)
class _Extractor:
    """What every extractor does first: read a file at the front end's rate, trimmed as it
    says."""

    features: Features

    def wave(self, path: Path) -> torch.Tensor:
        return self.features.trimmed(load_audio(path, self.features.sample_rate))

    def __call__(self, path: Path) -> np.ndarray:
        return self.extract(self.wave(path))

    def extract(self, wave: torch.Tensor) -> np.ndarray:
        """What is stored of a file's waveform."""
        raise NotImplementedError


@dataclass(frozen=True)
class _FrontEndExtractor(_Extractor):
    """An extractor of front-end output, stored as float16."""

    dtype = np.float16

    @cached_property
    def front_end(self) -> torch.nn.Module:
        return self.features.front_end()

    def to_tensor(self, stored: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(stored.astype(np.float32))


@dataclass(frozen=True)
class UtteranceExtractor(_FrontEndExtractor):
    """Whole-utterance front-end output ``[rows, frames]`` of a file, for a local front end
    (each frame depends on its neighbourhood only, so training and test crops are cut from
    it).

    A clip shorter than one window is repeated to fill it before the front end, as inference
    does, so that frame-to-frame differences see the same seams in training, test and serving.
    """

    def settings(self) -> dict:
        return {"kind": "utterance", "short_clips": "repeated", "features": self.features.to_dict()}

    def extract(self, wave: torch.Tensor) -> np.ndarray:
        window = self.features.window_samples
        if wave.shape[-1] < window:
            wave = fit_length(wave, window)
        return self.front_end(wave).numpy().astype(self.dtype)


@dataclass(frozen=True)
class WindowExtractor(_FrontEndExtractor):
    """The features of a file's windows every ``train_hop`` frames, the last one ending at the
    clip's end (a short clip is one window, repeated to fill it), concatenated along time
    ``[rows, windows * frames]``: for front ends whose frames depend on the whole window (an
    encoder's layers)."""

    batch: int = 8  # windows encoded at once

    def settings(self) -> dict:
        return {"kind": "windows", "features": self.features.to_dict()}

    def extract(self, wave: torch.Tensor) -> np.ndarray:
        window = self.features.window_samples
        hop = window // self.features.frames * self.features.train_hop
        starts = window_starts(wave.shape[-1], window, hop)
        crops = torch.stack([fit_length(wave, window, start) for start in starts])
        encoded = torch.cat([self.front_end(batch) for batch in crops.split(self.batch)])
        return torch.cat(list(encoded), dim=-1).numpy().astype(self.dtype)


@dataclass(frozen=True)
class WaveformExtractor(_Extractor):
    """Mono waveform at the front end's sample rate, trimmed as it says, stored as 16-bit
    integers (clipped to [-1, 1])."""

    dtype = np.int16

    def settings(self) -> dict:
        trim = {} if self.features.trim_db is None else {"trim_db": self.features.trim_db}
        return {"kind": "waveform", "sample_rate": self.features.sample_rate, **trim}

    def extract(self, wave: torch.Tensor) -> np.ndarray:
        return (wave.clamp(-1.0, 1.0) * 32767.0).round().numpy().astype(self.dtype)

    def to_tensor(self, stored: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(stored.astype(np.float32) / 32767.0)


def _arguments(augmentation: WaveAugmentation) -> dict:
    """An augmentation's settings (its public attributes but the module's ``training``)."""
    return {k: v for k, v in vars(augmentation).items() if k[0] != "_" and k != "training"}


@dataclass(frozen=True)
class AugmentedExtractor:
    """What ``extractor`` stores of a file after ``augmentations`` (waveform augmentations,
    each with its probability) were applied to its waveform once: copy number ``copy`` of the
    file. The draws come from a generator seeded by the copy and the file's name, so that a
    rebuilt cache holds the same copies."""

    extractor: UtteranceExtractor | WindowExtractor | WaveformExtractor
    augmentations: tuple[WaveAugmentation, ...]
    copy: int

    @property
    def dtype(self) -> type:
        return self.extractor.dtype

    def to_tensor(self, stored: np.ndarray) -> torch.Tensor:
        return self.extractor.to_tensor(stored)

    def settings(self) -> dict:
        described = [{"class": type(a).__name__, **_arguments(a)} for a in self.augmentations]
        return {**self.extractor.settings(), "copy": self.copy, "augmentations": described}

    def __call__(self, path: Path) -> np.ndarray:
        wave = self.extractor.wave(path)
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(zlib.crc32(f"{self.copy}/{path.name}".encode()))
            for augment in self.augmentations:
                wave = augment(wave)
        return self.extractor.extract(wave)


Extractor = UtteranceExtractor | WindowExtractor | WaveformExtractor | AugmentedExtractor


def features_extractor(features: Features) -> Extractor:
    """What caches a front end's output: the waveform itself for the identity front end, whole
    utterances for a local one, windows for the others."""
    if not features.framed:
        return WaveformExtractor(features)
    return UtteranceExtractor(features) if features.local else WindowExtractor(features)


def _safe_extract(
    extractor: Callable[[Path], np.ndarray], path: Path
) -> tuple[np.ndarray | None, str | None]:
    torch.set_num_threads(1)
    try:
        return extractor(path), None
    except Exception as error:  # any failure is reported per file, never raised in a worker
        return None, str(error).removeprefix(f"{path}: ")


def scan(
    paths: Sequence[Path], extractor: Callable[[Path], np.ndarray], workers: int, desc: str
) -> Iterator[tuple[np.ndarray | None, str | None]]:
    """Apply ``extractor`` to every path in order, in ``workers`` processes, with a progress bar.

    Yields ``(array, None)`` or ``(None, reason)`` per path.
    """
    jobs = [(extractor, path) for path in paths]
    bar = tqdm(total=len(paths), desc=desc, unit="file", disable=len(paths) < 50)
    try:
        if workers <= 0 or not paths:
            for job in jobs:
                bar.update()
                yield _safe_extract(*job)
        else:
            with ProcessPoolExecutor(workers) as pool:
                for result in pool.map(_safe_extract, *zip(*jobs, strict=True), chunksize=8):
                    bar.update()
                    yield result
    finally:
        bar.close()


def _content_digest(path: Path) -> str | None:
    """The digest of a file's bytes; None when it cannot be read (extraction reports why)."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "blake2b").hexdigest()[:32]
    except OSError:
        return None


def content_digests(paths: Sequence[Path], memo: Path) -> list[str]:
    """Each file's content digest, memoised in the JSON file ``memo`` by resolved path, size and
    modification time: a file is read again only when one of them changes, and a corpus copied
    anew (fresh modification times, same bytes) keeps its digests, hence its caches. A file
    that cannot be read gets a stand-in from its size and time, never memoised."""
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    digests, changed = [], False
    for path in paths:
        stat = path.stat()
        key, stamp = str(path.resolve()), [stat.st_size, stat.st_mtime_ns]
        entry = known.get(key)
        if entry is None or entry[:2] != stamp:
            digest = _content_digest(path)
            if digest is None:
                digests.append(f"unread-{stat.st_size}-{stat.st_mtime_ns}")
                continue
            entry = known[key] = [*stamp, digest]
            changed = True
        digests.append(entry[2])
    if changed:
        _write_memo(memo, known)
    return digests


def _write_memo(memo: Path, known: dict) -> None:
    """Write the whole memo and rename it into place: concurrent writers lose nothing but time,
    and a folder that cannot be written costs only the hashing next time."""
    staging = memo.with_name(f".{memo.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        staging.write_text(json.dumps(known))
        staging.replace(memo)
    except OSError:
        staging.unlink(missing_ok=True)


def _fingerprint(paths: Sequence[Path], contents: Sequence[str], settings: dict) -> str:
    """Hash of the extractor settings and each file's resolved path and content digest."""
    digest = hashlib.sha256(json.dumps({"v": CACHE_VERSION, **settings}, sort_keys=True).encode())
    for path, content in zip(paths, contents, strict=True):
        digest.update(f"{path.resolve()}\0{content}\n".encode())
    return digest.hexdigest()[:20]


class ArrayCache:
    """Memory-mapped whole-utterance arrays of a file list, looked up by path.

    Arrays are concatenated along their last (time) axis in one file; lookups return views.
    Files are keyed by their resolved path, so a corpus reached by another route (a relative
    root, a symbolic link) finds the same entries. ``unreadable`` maps each resolved path that
    could not be used to the reason. A new cache copies the arrays of files that another cache
    of the same settings holds with the same content (a subset of a corpus, or a corpus with
    files added) instead of extracting them again.
    """

    def __init__(self, folder: Path, extractor: Extractor) -> None:
        self.folder = folder
        self.extractor = extractor
        meta = json.loads((folder / "meta.json").read_text())
        self.rows = meta["rows"]
        self.total = meta["total"]
        paths = json.loads((folder / "paths.json").read_text())
        offsets = np.load(folder / "offsets.npy")
        self.slices = {
            Path(p): (int(start), int(stop))
            for p, start, stop in zip(paths, offsets[:-1], offsets[1:], strict=True)
        }
        with (folder / "unreadable.csv").open(newline="", encoding="utf-8") as handle:
            self.unreadable = {Path(row["path"]): row["reason"] for row in csv.DictReader(handle)}
        self._data: np.ndarray | None = None
        self._resolved: dict[Path, Path] = {}
        self._contents: dict[Path, str] | None = None  # read when another cache copies from it

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_data": None, "_contents": None}  # each worker maps the file

    def _key(self, path: Path) -> Path:
        if path not in self._resolved:
            self._resolved[path] = path.resolve()
        return self._resolved[path]

    def _array(self) -> np.ndarray:
        if self._data is None:
            shape = (self.total, self.rows) if self.rows else (self.total,)
            self._data = np.memmap(
                self.folder / "data.bin", dtype=self.extractor.dtype, mode="r", shape=shape
            )
        return self._data

    def unreadable_among(self, paths: list[Path]) -> dict[Path, str]:
        """The reason for each of ``paths`` (as given) that could not be used."""
        return {p: self.unreadable[p.resolve()] for p in paths if p.resolve() in self.unreadable}

    def __contains__(self, path: Path) -> bool:
        return self._key(path) in self.slices

    def __getitem__(self, path: Path) -> torch.Tensor:
        """A file's array, ``[rows, frames]`` (a transposed view of a fresh float32 copy of the
        stored ``[frames, rows]``: one pass over the data) or ``[samples]``."""
        start, stop = self.slices[self._key(path)]
        values = self.extractor.to_tensor(self._array()[start:stop])
        return values.T if values.ndim == 2 else values

    @classmethod
    def build_or_open(
        cls, paths: Sequence[Path], extractor: Extractor, cache_dir: Path, workers: int
    ) -> ArrayCache:
        """Open the cache of exactly these files and settings, building it first if needed."""
        settings = extractor.settings()
        contents = content_digests(paths, cache_dir / "digests.json")
        folder = cache_dir / f"{settings['kind']}-{_fingerprint(paths, contents, settings)}"
        if not (folder / "meta.json").is_file():
            cls._build(folder, paths, contents, extractor, workers)
        return cls(folder, extractor)

    def stored(self, path: Path, content: str) -> np.ndarray | None:
        """A file's array as its extractor returned it, if this cache holds the file (by its
        resolved path) with that content."""
        if self._contents is None:
            listed = self.folder / "contents.json"  # absent from caches older than sharing
            digests = json.loads(listed.read_text()) if listed.is_file() else []
            paths = json.loads((self.folder / "paths.json").read_text()) if digests else []
            self._contents = dict(zip(map(Path, paths), digests, strict=True))
        key = self._key(path)
        if self._contents.get(key) != content:
            return None
        start, stop = self.slices[key]
        return np.asarray(self._array()[start:stop]).T

    @classmethod
    def _donors(cls, folder: Path, extractor: Extractor) -> Iterator[ArrayCache]:
        """The complete caches beside ``folder`` made with the same settings and cache version,
        one at a time (a damaged one is passed over)."""
        settings = json.loads(json.dumps(extractor.settings()))  # as meta.json holds it
        for other in sorted(folder.parent.glob(f"{settings['kind']}-*")):
            try:
                meta = json.loads((other / "meta.json").read_text())
                same = meta.get("version") == CACHE_VERSION and meta["settings"] == settings
                if other != folder and same:
                    yield cls(other, extractor)
            except (OSError, ValueError, KeyError):
                continue

    @classmethod
    def _build(
        cls,
        folder: Path,
        paths: Sequence[Path],
        contents: Sequence[str],
        extractor: Extractor,
        workers: int,
    ) -> None:
        """Write into a temporary sibling and rename it into place: a killed build leaves
        nothing that looks complete, and racing builders both end with a valid cache."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        donated: dict[int, np.ndarray] = {}
        for donor in cls._donors(folder, extractor):
            for index, (path, content) in enumerate(zip(paths, contents, strict=True)):
                if index not in donated and (array := donor.stored(path, content)) is not None:
                    donated[index] = array
            if len(donated) == len(paths):
                break
        missing = [path for index, path in enumerate(paths) if index not in donated]
        staging = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            kept, kept_contents, offsets, unreadable, rows = [], [], [0], [], 0
            reused = f", {len(donated)} files from other caches" if donated else ""
            desc = f"caching {folder.name}{reused}"
            with (
                closing(scan(missing, extractor, workers, desc=desc)) as extracted,
                (staging / "data.bin").open("wb") as data,
            ):
                for index, (path, content) in enumerate(zip(paths, contents, strict=True)):
                    array, reason = (donated[index], None) if index in donated else next(extracted)
                    if array is None:
                        unreadable.append((str(path.resolve()), reason))
                        continue
                    rows = array.shape[0] if array.ndim == 2 else 0
                    data.write(np.ascontiguousarray(array.T).tobytes())
                    kept.append(str(path.resolve()))
                    kept_contents.append(content)
                    offsets.append(offsets[-1] + array.shape[-1])
            np.save(staging / "offsets.npy", np.asarray(offsets, dtype=np.int64))
            (staging / "paths.json").write_text(json.dumps(kept))
            (staging / "contents.json").write_text(json.dumps(kept_contents))
            with (staging / "unreadable.csv").open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["path", "reason"])
                writer.writerows(unreadable)
            meta = {
                "rows": rows,
                "total": offsets[-1],
                "settings": extractor.settings(),
                "version": CACHE_VERSION,
            }
            (staging / "meta.json").write_text(json.dumps(meta))  # written last: marks complete
            try:
                staging.rename(folder)
            except OSError:
                if not (folder / "meta.json").is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

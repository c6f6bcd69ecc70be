"""The models that ship inside the package: ``deepfake detect FILE...`` and ``deepfake serve``
use one when no model is given.

Each is an exported package folder under ``deepfake_audio/serve/builtin/`` (safetensors, config
and model card, ONNX where the network allows), rebuilt by ``make release-model`` from a
committed config and the two devsets; its card records the command, the commit, the data and
the measured figures. ``default`` runs on the base install.
"""

from __future__ import annotations

from pathlib import Path

from deepfake_audio.errors import UserError

FOLDER = Path(__file__).resolve().parent / "builtin"
DEFAULT = "default"


def builtin_names() -> list[str]:
    """The built-in models this install holds."""
    found = FOLDER.iterdir() if FOLDER.is_dir() else []
    return sorted(p.name for p in found if (p / "config.json").is_file())


def builtin_model(name: str = DEFAULT) -> Path:
    """The package folder of a built-in model; a clear error for one that is not there."""
    folder = FOLDER / name
    if not (folder / "config.json").is_file():
        known = ", ".join(builtin_names()) or "none"
        raise UserError(f"no built-in model {name!r} (built in: {known}); see make release-model")
    return folder


def is_model(path: Path) -> bool:
    """Whether a path names a model (a checkpoint or a package folder) rather than audio."""
    return path.suffix == ".ckpt" or (path.is_dir() and (path / "config.json").is_file())

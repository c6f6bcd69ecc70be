"""``deepfake export --ckpt CKPT --out DIR``: a self-contained model package.

The package holds ``model.safetensors`` (weights), ``config.json`` (network class and arguments,
feature settings, threshold, metrics, training data) and a model card, ``README.md``. Loading
it never unpickles anything. With ``--onnx`` it also holds ``model.onnx`` and
``mel_filters.npy``, for ``deepfake detect --backend onnx`` (no torch needed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from deepfake_audio import __version__
from deepfake_audio.serve.inference import ModelSpec, load_checkpoint
from deepfake_audio.serve.onnx import onnx_files


def _describe(features: dict[str, Any]) -> str:
    """The front end in words, e.g. "60 cepstral coefficients of 128 linear log filterbank
    energies, with 2 orders of deltas"."""
    bands = f"{features['n_mels']} {features.get('scale', 'mel')} log filterbank energies"
    cepstra, deltas = features.get("cepstra", 0), features.get("deltas", 0)
    described = f"{cepstra} cepstral coefficients of {bands}" if cepstra else bands
    if not features.get("static", True):
        return f"{deltas} orders of deltas of {described}"
    return described + (f", with {deltas} orders of deltas" if deltas else "")


def _run_facts(checkpoint: Path) -> dict[str, Any]:
    """Test metrics and training data of the run a checkpoint belongs to, where recorded."""
    run = checkpoint.resolve().parent.parent
    facts: dict[str, Any] = {"checkpoint": checkpoint.name, "run": run.name}
    if (run / "metrics.json").is_file():
        metrics = json.loads((run / "metrics.json").read_text())
        keep = ("clips", "bona_fide", "spoof", "eer", "eer_ci95", "auroc", "at_0.5", "per_attack")
        facts["test_metrics"] = {key: metrics[key] for key in keep if key in metrics}
    if (run / "config.yaml").is_file():
        import yaml

        data = yaml.safe_load((run / "config.yaml").read_text()).get("data", {})
        options = data.get("init_args", {})
        facts["training_data"] = {
            "datamodule": data.get("class_path"),
            "root": options.get("root") or "built-in demo set",
            "format": options.get("format"),
            "split": options.get("split"),
            "seed": options.get("seed"),
        }
    if (run / "data_report.txt").is_file():
        facts["training_data_report"] = (run / "data_report.txt").read_text()
    return facts


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def model_card(spec: ModelSpec, onnx: bool = False) -> str:
    """README.md of a package: what the model is, how well it did, what it is not for."""
    network = spec.network["init_args"]
    name = network.get("backbone") or network.get("cell") or spec.network["class_path"]
    features = spec.input["features"]
    seconds = (features["frames"] - 1) * features["hop_length"] / features["sample_rate"]
    metrics = spec.metadata.get("test_metrics")
    data = spec.metadata.get("training_data", {})
    usage = ["deepfake detect path/to/this/folder audio.wav more/audio/"]
    if onnx:
        usage.append("deepfake detect --backend onnx path/to/this/folder audio.wav  # no torch")
    lines = [
        f"# deepfake-audio detector: {name}",
        "",
        "Tells bona fide (genuine) speech from spoofed (AI-generated) speech. The score is "
        "P(bona fide); a file is called bona fide when its score is at least the threshold "
        f"**{spec.threshold:.4f}** (the validation EER threshold chosen in training).",
        "",
        "## Use",
        "```bash",
        *usage,
        "```",
        "",
        "## Model",
        f"- network: `{spec.network['class_path']}` with `{json.dumps(network)}`",
        f"- input: {spec.input['representation']} of {_describe(features)}, "
        f"{features['frames']} frames ({seconds:.1f} s at {features['sample_rate']} Hz) per "
        "window; longer audio is scored in sliding windows and averaged",
        f"- exported with deepfake-audio {__version__}",
        "",
        "## Evaluation",
    ]
    if metrics:
        low, high = metrics.get("eer_ci95", [None, None])
        at = metrics.get("at_0.5", {})
        lines += [
            f"On the held-out test split ({metrics.get('clips')} clips; "
            f"{metrics.get('bona_fide')} bona fide, {metrics.get('spoof')} spoof):",
            f"- EER {_percent(metrics.get('eer'))} (95% bootstrap CI {_percent(low)} to "
            f"{_percent(high)})",
            f"- AUROC {metrics.get('auroc')}",
            f"- at 0.5: accuracy {_percent(at.get('acc'))}, bona fide recall "
            f"{_percent(at.get('tpr'))}, spoof recall {_percent(at.get('tnr'))}",
        ]
        for attack, group in metrics.get("per_attack", {}).items():
            lines.append(f"- EER on attack `{attack}`: {_percent(group['eer'])}")
    else:
        lines.append("No test metrics were recorded for this checkpoint's run.")
    lines += [
        "",
        "## Training data",
        f"- corpus: {data.get('root', 'unknown')} ({data.get('datamodule', '?')})",
        f"- split: {json.dumps(data.get('split'))}, seed {data.get('seed')}",
        "",
        "## Intended use and limitations",
        "- A screening aid for trust-and-safety review and research, not proof: "
        "pair its scores with human judgement.",
        "- Measured only on the corpus above. Detectors that look strong in-domain often fail "
        "on unseen generators, languages, codecs, noise and recording conditions "
        "(Müller et al., 2022): validate on data like yours before relying on it.",
        "- The threshold was tuned on the validation split of that corpus; on other data, "
        "choose one on labelled clips of your own.",
        "- Very short clips (under about a second) are repeated to fill a window and are "
        "less reliable.",
    ]
    return "\n".join(lines) + "\n"


def export(checkpoint: Path, out: Path, onnx: bool = False) -> Path:
    """Write the package of ``checkpoint`` into ``out``, atomically (temp folder + rename);
    ``onnx`` adds the ONNX files (``ValueError`` before anything is written if unsupported)."""
    from safetensors.torch import save_file

    spec, weights = load_checkpoint(checkpoint)
    spec = ModelSpec(spec.network, spec.input, spec.threshold, _run_facts(checkpoint))
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new folder")
    extra = onnx_files(spec, weights) if onnx else {}
    staging = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        save_file({k: v.contiguous() for k, v in weights.items()}, staging / "model.safetensors")
        config = json.dumps(spec.to_json(), indent=2)
        (staging / "config.json").write_text(config + "\n", encoding="utf-8")
        (staging / "README.md").write_text(model_card(spec, onnx), encoding="utf-8")
        for name, data in extra.items():
            (staging / name).write_bytes(data)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="deepfake export", description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, required=True, help="a training checkpoint")
    parser.add_argument("--out", type=Path, required=True, help="a new folder for the package")
    parser.add_argument(
        "--onnx", action="store_true", help="also write model.onnx (for --backend onnx)"
    )
    options = parser.parse_args(args)
    try:
        export(options.ckpt, options.out, options.onnx)
    except ValueError as error:  # not a deepfake-audio checkpoint, or no ONNX export for it
        raise SystemExit(f"deepfake export: {error}") from error
    print(f"exported {options.ckpt} to {options.out}")
    return 0

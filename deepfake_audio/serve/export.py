"""``deepfake export --ckpt CKPT --out DIR``: a self-contained model package.

The package holds ``model.safetensors`` (weights), ``config.json`` (network class and arguments,
front-end settings, threshold, metrics, training data) and a model card, ``README.md``. Loading
it never unpickles anything. With ``--onnx`` it also holds ``model.onnx`` and the files the
front end's numpy form reads (a spectral front end's filterbank), for ``deepfake detect
--backend onnx`` (no torch needed).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from deepfake_audio import __version__
from deepfake_audio.console import command_parser
from deepfake_audio.files import paths_text, portable
from deepfake_audio.models.networks import build_network
from deepfake_audio.runs import RunFolder
from deepfake_audio.serve import onnx
from deepfake_audio.serve.package import CARD, CONFIG, WEIGHTS, ModelSpec, load_checkpoint


def onnx_files(model: ModelSpec, weights: dict[str, torch.Tensor]) -> dict[str, bytes]:
    """The ONNX files of a package by name: the network (input to one logit per window; the
    batch axis dynamic, and the frame axis where the input has one) and what the front end's
    numpy form reads; raises ``ValueError`` for an input with no ONNX form."""
    spec = model.input
    representation = spec.representation
    if representation.onnx_refusal:
        raise ValueError(
            f"no ONNX export for {representation.name!r} input: {representation.onnx_refusal}"
        )
    network = build_network(model.network)
    network.load_state_dict(weights)
    network.eval()
    example = torch.zeros(2, *spec.input_shape)
    dynamic = {0: "batch"}
    if representation.onnx_frames_axis is not None:
        dynamic[representation.onnx_frames_axis] = "frames"
    buffer = io.BytesIO()
    # The TorchScript exporter is deprecated, but exports these networks in about a second;
    # torch.export takes several. Its deprecation and tracer warnings are silenced: the tests
    # check the exported graphs.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network,
            (example,),
            buffer,
            input_names=["input"],
            output_names=["logit"],
            dynamic_axes={"input": dynamic, "logit": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return {onnx.MODEL: buffer.getvalue(), **spec.features.package_files()}


def _run_facts(checkpoint: Path) -> dict[str, Any]:
    """Test metrics and training data of the run a checkpoint belongs to, where recorded."""
    run = RunFolder.of(checkpoint.resolve())
    facts: dict[str, Any] = {"checkpoint": checkpoint.name, "run": run.label}
    if run.metrics.is_file():
        metrics = run.read_metrics()
        keep = ("clips", "bona_fide", "spoof", "eer", "eer_ci95", "auroc", "at_0.5", "per_attack")
        facts["test_metrics"] = {key: metrics[key] for key in keep if key in metrics}
    if run.config().is_file():
        data = run.read_config().get("data", {})
        options = data.get("init_args", {})
        root = options.get("root")
        facts["training_data"] = {
            "datamodule": data.get("class_path"),
            "root": ([portable(r) for r in root] if isinstance(root, list) else portable(root))
            if root
            else "built-in demo set",
            "format": options.get("format"),
            "split": options.get("split"),
            "seed": options.get("seed"),
        }
    if run.data_report.is_file():
        facts["training_data_report"] = run.data_report.read_text()
    return facts


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def model_card(model: ModelSpec, onnx: bool = False) -> str:
    """README.md of a package: what the model is, how well it did, what it is not for."""
    network = model.network["init_args"]
    name = network.get("backbone") or network.get("cell") or model.network["class_path"]
    spec = model.input
    metrics = model.metadata.get("test_metrics")
    data = model.metadata.get("training_data", {})
    usage = ["deepfake detect path/to/this/folder audio.wav more/audio/"]
    if onnx:
        usage.append("deepfake detect --backend onnx path/to/this/folder audio.wav  # no torch")
    lines = [
        f"# deepfake-audio detector: {name}",
        "",
        "Tells bona fide (genuine) speech from spoofed (AI-generated) speech. The score is "
        "P(bona fide), calibrated on the validation split (Platt scaling, "
        f"a = {model.calibration[0]:.3f}, b = {model.calibration[1]:.3f}); a file is called bona "
        f"fide when its score is at least the threshold **{model.threshold:.4f}** (the "
        "validation EER threshold chosen in training).",
        "",
        "## Use",
        "```bash",
        *usage,
        "```",
        "",
        "## Model",
        f"- network: `{model.network['class_path']}` with `{json.dumps(network)}`",
        f"- input: {spec.representation.name.replace('_', ' ')} of {spec.features.describe()}, "
        f"{spec.window_samples / spec.sample_rate:.1f} s at {spec.sample_rate} Hz per window; "
        "longer audio is scored in sliding windows and averaged",
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
            f"- AUROC {metrics.get('auroc', float('nan')):.3f}",
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
        f"- corpus: {paths_text(data.get('root'))} ({data.get('datamodule', '?')})",
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

    model, weights = load_checkpoint(checkpoint)
    model = replace(model, metadata=_run_facts(checkpoint))
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new folder")
    extra = onnx_files(model, weights) if onnx else {}
    staging = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        save_file({k: v.contiguous() for k, v in weights.items()}, staging / WEIGHTS)
        config = json.dumps(model.to_json(), indent=2)
        (staging / CONFIG).write_text(config + "\n", encoding="utf-8")
        (staging / CARD).write_text(model_card(model, onnx), encoding="utf-8")
        for name, data in extra.items():
            (staging / name).write_bytes(data)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def export_package(checkpoint: Path, out: Path) -> Path:
    """:func:`export` with the ONNX files where the model's input has an ONNX form (a graph
    input has none: the torch backend only)."""
    try:
        return export(checkpoint, out, onnx=True)
    except ValueError:
        return export(checkpoint, out)


def main(args: list[str]) -> int:
    parser = command_parser("deepfake export", __doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, required=True, help="a training checkpoint")
    parser.add_argument("--out", type=Path, required=True, help="a new folder for the package")
    parser.add_argument(
        "--onnx", action="store_true", help="also write model.onnx (for --backend onnx)"
    )
    options = parser.parse_args(args)
    export(options.ckpt, options.out, options.onnx)
    print(f"exported {options.ckpt} to {options.out}")
    return 0

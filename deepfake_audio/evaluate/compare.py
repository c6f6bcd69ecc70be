"""``deepfake compare``: train configs (or collect finished runs) and tabulate and plot them.

    deepfake compare --configs configs/resnet18.yaml configs/lstm.yaml --seeds 3 -- --data.root D
    deepfake compare --runs lightning_logs/resnet18/version_0 lightning_logs/lstm/version_2
    deepfake compare --protocol leave-one-attack-out --configs configs/best.yaml -- --data.root D
    deepfake compare --protocol cross-validation --configs configs/best.yaml -- --data.root D

Writes ``results.md``, ``results.csv``, ``roc.png``, ``det.png``, ``confusion.png`` and
``score_histograms.png``. Runs of the same experiment (config) are aggregated as mean ± std.
The leave-one-attack-out protocol trains each config once per attack the corpus names, with
that attack held out of training and validation, and tests on the test speakers' bona fide
clips against the held-out attack alone; it writes ``leave_one_attack_out.md`` and ``.csv``.
The cross-validation protocol deals the corpus into ``--folds`` speaker-disjoint folds and
trains each config once per fold, tested on that fold: every clip is tested once, so the EER
rests on the whole corpus rather than on one test split; it writes ``cross_validation.md`` and
``.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

import yaml

from deepfake_audio.evaluate.plots import confusion_figure, det_figure, histogram_figure, roc_figure
from deepfake_audio.evaluate.scores import ScoredClip, bootstrap_eer, eer_threshold, read_scores
from deepfake_audio.files import atomic_write, atomic_write_text

COLUMNS = {  # results.csv column -> (how to read it from metrics.json, how to show it)
    "accuracy": (lambda m: m["at_0.5"]["acc"], "percent"),
    "f1": (lambda m: m["at_0.5"]["f1"], "percent"),
    "tpr": (lambda m: m["at_0.5"]["tpr"], "percent"),
    "tnr": (lambda m: m["at_0.5"]["tnr"], "percent"),
    "eer": (lambda m: m["eer"], "percent"),
    "auroc": (lambda m: m["auroc"], "ratio"),
    "parameters": (lambda m: m["parameters"], "count"),
    "clips_per_second": (lambda m: m["test_clips_per_second"], "rate"),
}
HEADERS = ["Accuracy", "F1", "TPR", "TNR", "EER", "AUROC", "Parameters", "Inference clips/s"]


def run_folder(path: Path) -> Path:
    """The run folder of a run folder or of a checkpoint inside it; it must hold a test report."""
    folder = path.parent.parent if path.suffix == ".ckpt" else path
    if not (folder / "metrics.json").is_file():
        raise SystemExit(
            f"deepfake compare: {folder} has no metrics.json; run `deepfake test` on it first"
        )
    return folder


def train_and_test(config: Path, seed: int, extra: list[str]) -> Path:
    """Fit ``config`` with one seed, test its best checkpoint; return the run folder."""
    from deepfake_audio.lightning_cli import DeepfakeCLI  # Lightning only when training

    fitted = DeepfakeCLI(args=["fit", f"--config={config}", f"--seed_everything={seed}", *extra])
    folder = Path(fitted.trainer.log_dir)
    checkpoint = folder / "checkpoints" / "best.ckpt"
    DeepfakeCLI(args=["test", f"--config={config}", f"--ckpt_path={checkpoint}", *extra])
    return folder


def corpus_attacks(config: Path, extra: list[str]) -> list[str]:
    """The attacks named by the corpus that ``config`` (with ``extra`` options) trains on."""
    from deepfake_audio.data.split import attacks_of
    from deepfake_audio.lightning_cli import DeepfakeCLI

    cli = DeepfakeCLI(args=[f"--config={config}", *extra], run=False)
    attacks = attacks_of(cli.datamodule.index())
    if len(attacks) < 2:
        raise SystemExit(
            f"deepfake compare: leave-one-attack-out needs a corpus that names at least two "
            f"attacks (generators) of its spoof clips; {cli.datamodule.corpus_root} names "
            f"{attacks or 'none'}"
        )
    return attacks


def training_seeds(count: int) -> range:
    """The seeds that ``--seeds COUNT`` trains with: 42, 43, ..."""
    return range(42, 42 + count)


def leave_one_attack_out(
    configs: list[Path], seeds: int, extra: list[str]
) -> dict[str, dict[str, list[Path]]]:
    """Run folders per config and held-out attack, one per seed."""
    folds: dict[str, dict[str, list[Path]]] = {}
    attacks = corpus_attacks(configs[0], extra)
    for config in configs:
        folds[config.stem] = {
            attack: [
                train_and_test(config, seed, [*extra, f"--data.split.held_out_attack={attack}"])
                for seed in training_seeds(seeds)
            ]
            for attack in attacks
        }
    return folds


def write_attack_results(folds: dict[str, dict[str, list[Path]]], out: Path) -> None:
    """``leave_one_attack_out.csv`` (one row per run) and ``.md`` (EER per held-out attack,
    mean and worst per config) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    eers: dict[str, dict[str, list[float]]] = {}
    with atomic_write(out / "leave_one_attack_out.csv") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "held_out_attack", "run", "eer", "auroc", "test_clips"])
        for name, by_attack in folds.items():
            eers[name] = {}
            for attack, folders in by_attack.items():
                metrics = [json.loads((f / "metrics.json").read_text()) for f in folders]
                eers[name][attack] = [m["eer"] for m in metrics]
                for folder, m in zip(folders, metrics, strict=True):
                    writer.writerow([name, attack, folder, m["eer"], m["auroc"], m["clips"]])
    attacks = list(next(iter(folds.values())))
    lines = [
        "| Model | " + " | ".join(attacks) + " | Mean | Worst |",
        "|---" * (len(attacks) + 3) + "|",
    ]
    for name, by_attack in eers.items():
        means = [statistics.fmean(by_attack[attack]) for attack in attacks]
        cells = [_cell(by_attack[attack], "percent") for attack in attacks]
        cells += [f"{100 * statistics.fmean(means):.1f}%", f"{100 * max(means):.1f}%"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    first_run = next(iter(folds.values()))[attacks[0]][0]
    notes = [
        "",
        f"Data: {_corpus(first_run)}. Test EER of each "
        "held-out attack (column): trained without it, tested on the test speakers' bona fide "
        "clips against that attack's clips alone; speakers are disjoint across splits. "
        "Mean and worst over the attacks (means over seeds where there are several).",
        "",
        "Runs: see leave_one_attack_out.csv",
    ]
    atomic_write_text(out / "leave_one_attack_out.md", "\n".join(lines + notes) + "\n")


def cross_validation(
    configs: list[Path], folds: int, seeds: int, extra: list[str]
) -> dict[str, list[list[Path]]]:
    """Run folders per config and seed, one per test fold."""
    return {
        config.stem: [
            [
                train_and_test(
                    config,
                    seed,
                    [*extra, f"--data.split.folds={folds}", f"--data.split.test_fold={fold}"],
                )
                for fold in range(folds)
            ]
            for seed in training_seeds(seeds)
        ]
        for config in configs
    }


def pooled_eer(folders: list[Path]) -> tuple[float, tuple[float, float], int]:
    """EER (with its 95% bootstrap interval) of the test scores of ``folders`` taken together,
    and the number of clips; a clip scored twice means the folders are not one set of folds."""
    clips = [clip for folder in folders for clip in read_scores(folder / "scores.csv")]
    files = [clip.file for clip in clips]
    if len(set(files)) < len(files):
        raise ValueError(
            f"{len(files) - len(set(files))} clips are in more than one fold's test split of "
            f"{folders[0].parent}: the folds overlap"
        )
    scores, labels = [clip.score for clip in clips], [clip.label for clip in clips]
    return eer_threshold(scores, labels)[0], bootstrap_eer(scores, labels), len(clips)


def write_fold_results(runs: dict[str, list[list[Path]]], out: Path) -> None:
    """``cross_validation.csv`` (one row per run) and ``.md`` (EER per test fold, their mean
    and the EER of all folds' scores pooled, per config) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    folds = len(next(iter(runs.values()))[0])
    lines = [
        "| Model | " + " | ".join(f"fold {i}" for i in range(folds)) + " | Mean | Pooled |",
        "|---" * (folds + 3) + "|",
    ]
    with atomic_write(out / "cross_validation.csv") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "seed_index", "test_fold", "run", "eer", "auroc", "test_clips"])
        for name, by_seed in runs.items():
            metrics = [[json.loads((f / "metrics.json").read_text()) for f in s] for s in by_seed]
            for index, (folders, seed_metrics) in enumerate(zip(by_seed, metrics, strict=True)):
                for fold, (folder, m) in enumerate(zip(folders, seed_metrics, strict=True)):
                    writer.writerow([name, index, fold, folder, m["eer"], m["auroc"], m["clips"]])
            eers = [[m["eer"] for m in seed_metrics] for seed_metrics in metrics]
            cells = [_cell([seed[fold] for seed in eers], "percent") for fold in range(folds)]
            cells.append(_cell([statistics.fmean(seed) for seed in eers], "percent"))
            pooled = [pooled_eer(folders) for folders in by_seed]
            cell = _cell([eer for eer, _, _ in pooled], "percent")
            if len(pooled) == 1:
                low, high = pooled[0][1]
                cell += f" [{100 * low:.1f}, {100 * high:.1f}]"
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {cell} ({pooled[0][2]} clips) |")
    first_run = next(iter(runs.values()))[0][0]
    notes = [
        "",
        f"Data: {_corpus(first_run)}, dealt into {folds} folds (whole speakers where known). "
        "Fold columns: test EER of the model trained and validated on the other folds. Mean: "
        "over the folds. Pooled: one EER over every fold's test scores together (each clip "
        "scored once, by a model not trained on its fold; the models' scales may differ "
        "a little), with its 95% bootstrap interval for a single seed. Means ± std over seeds "
        "where there are several.",
        "",
        "Runs: see cross_validation.csv",
    ]
    atomic_write_text(out / "cross_validation.md", "\n".join(lines + notes) + "\n")


def _corpus(folder: Path) -> str:
    """The corpus a run was trained and tested on, from its saved config."""
    config_file = folder / "config.yaml"
    if not config_file.is_file():
        return "unknown (no config.yaml in the run)"
    data = yaml.safe_load(config_file.read_text()).get("data", {}).get("init_args", {})
    return str(data.get("root") or "the built-in demo set")


def _cell(values: list[float], kind: str) -> str:
    """Mean (± standard deviation over runs) as a percentage, ratio, count or rate."""
    if kind == "count":
        return f"{statistics.fmean(values):,.0f}"
    scale, digits, unit = {"percent": (100, 1, "%"), "ratio": (1, 3, ""), "rate": (1, 0, "")}[kind]
    text = f"{statistics.fmean(values) * scale:,.{digits}f}"
    if len(values) > 1:
        text += f" ± {statistics.stdev(values) * scale:,.{digits}f}"
    return text + unit


def write_results(groups: dict[str, list[Path]], out: Path) -> None:
    """Tables and figures of the grouped runs into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    metrics = {
        name: [json.loads((f / "metrics.json").read_text()) for f in folders]
        for name, folders in groups.items()
    }
    with atomic_write(out / "results.csv") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "run", *COLUMNS])
        for name, folders in groups.items():
            for folder, values in zip(folders, metrics[name], strict=True):
                writer.writerow([name, folder, *(read(values) for read, _ in COLUMNS.values())])

    lines = [
        "| Model | Runs | " + " | ".join(HEADERS) + " |",
        "|---" * (len(HEADERS) + 2) + "|",
    ]
    for name, runs in metrics.items():
        cells = [_cell([read(m) for m in runs], kind) for read, kind in COLUMNS.values()]
        if len(runs) == 1:
            low, high = runs[0]["eer_ci95"]
            cells[4] += f" [{100 * low:.1f}, {100 * high:.1f}]"
        lines.append(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")
    first = next(iter(groups.values()))[0]
    notes = [
        "",
        f"Data: {_corpus(first)}; the test split of each run "
        f"({next(iter(metrics.values()))[0]['clips']} clips).",
        "Accuracy, F1, TPR (bona fide recall) and TNR (spoof recall) at threshold 0.5; "
        "EER with its 95% bootstrap interval for single runs, mean ± std over runs otherwise.",
        "Inference clips/s: test clips per second of the whole test loop (data included), "
        "on the machine that ran it.",
        "",
        "Runs: " + ", ".join(str(f) for folders in groups.values() for f in folders),
    ]
    atomic_write_text(out / "results.md", "\n".join(lines + notes) + "\n")

    scored: dict[str, list[ScoredClip]] = {
        name: read_scores(folders[0] / "scores.csv") for name, folders in groups.items()
    }
    figures = {
        "roc.png": roc_figure(scored),
        "det.png": det_figure(scored),
        "confusion.png": confusion_figure(scored, 0.5),
        "score_histograms.png": histogram_figure(scored),
    }
    for file, figure in figures.items():
        figure.savefig(out / file, dpi=120)


def main(args: list[str]) -> int:
    split = args.index("--") if "--" in args else len(args)
    own, extra = args[:split], args[split + 1 :]
    parser = argparse.ArgumentParser(
        prog="deepfake compare",
        description="Compare detectors: train configs or collect finished runs; write results "
        "tables and ROC/DET/confusion/histogram plots. Arguments after -- go to every fit/test.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--configs", nargs="+", type=Path, help="configs to train and test")
    source.add_argument("--runs", nargs="+", type=Path, help="run folders or checkpoints")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per config (42, 43, ...)")
    parser.add_argument(
        "--protocol",
        choices=["standard", "leave-one-attack-out", "cross-validation"],
        default="standard",
        help="standard: the split as configured; leave-one-attack-out: one fit per attack the "
        "corpus names, tested on that attack alone; cross-validation: one fit per fold, tested "
        "on that fold (both need --configs)",
    )
    parser.add_argument(
        "--folds", type=int, default=5, help="folds of --protocol cross-validation (default 5)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="default: lightning_logs/compare/<time>"
    )
    options = parser.parse_args(own)
    out = options.out or Path("lightning_logs") / "compare" / time.strftime("%Y%m%d-%H%M%S")
    if options.protocol != "standard" and not options.configs:
        parser.error(f"--protocol {options.protocol} trains: give --configs")
    if options.protocol == "cross-validation" and options.folds < 2:
        parser.error(f"--folds must be at least 2, got {options.folds}")
    if options.protocol == "leave-one-attack-out":
        write_attack_results(leave_one_attack_out(options.configs, options.seeds, extra), out)
        table = "leave_one_attack_out.md"
    elif options.protocol == "cross-validation":
        runs = cross_validation(options.configs, options.folds, options.seeds, extra)
        try:
            write_fold_results(runs, out)
        except ValueError as error:
            raise SystemExit(f"deepfake compare: {error}") from None
        table = "cross_validation.md"
    else:
        groups: dict[str, list[Path]] = defaultdict(list)
        if options.configs:
            for config in options.configs:
                for seed in training_seeds(options.seeds):
                    groups[config.stem].append(train_and_test(config, seed, extra))
        else:
            for path in options.runs:
                folder = run_folder(path)
                groups[folder.parent.name].append(folder)
        write_results(dict(groups), out)
        table = "results.md"
    print((out / table).read_text())
    print(f"written to {out}")
    return 0

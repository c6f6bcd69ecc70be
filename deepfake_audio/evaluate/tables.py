"""Tables and figures of finished runs: results per model, leave-one-out per held-out group,
cross-validation per fold, with ROC, DET, confusion and score-histogram figures. Reads run
folders only; never trains."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

from deepfake_audio.evaluate.plots import confusion_figure, det_figure, histogram_figure, roc_figure
from deepfake_audio.evaluate.scores import ScoredClip, bootstrap_eer, eer_threshold, read_scores
from deepfake_audio.files import atomic_write, atomic_write_text, paths_text
from deepfake_audio.runs import RunFolder

COLUMNS = {  # results.csv column -> (how to read it from metrics.json, how to show it)
    "accuracy": (lambda m: m["at_0.5"]["acc"], "percent"),
    "f1": (lambda m: m["at_0.5"]["f1"], "percent"),
    "tpr": (lambda m: m["at_0.5"]["tpr"], "percent"),
    "tnr": (lambda m: m["at_0.5"]["tnr"], "percent"),
    "eer": (lambda m: m["eer"], "percent"),
    "auroc": (lambda m: m["auroc"], "ratio"),
    "cllr": (lambda m: m.get("cllr", float("nan")), "ratio"),
    "ece": (lambda m: m.get("ece", float("nan")), "ratio"),
    "parameters": (lambda m: m["parameters"], "count"),
    "clips_per_second": (lambda m: m["test_clips_per_second"], "rate"),
}
HEADERS = [
    "Accuracy", "F1", "TPR", "TNR", "EER", "AUROC", "Cllr", "ECE", "Parameters",
    "Inference clips/s",
]  # fmt: skip


TESTED_ON = {  # group -> what a leave-one-out fold's test split holds, for the table's notes
    "attack": "the test speakers' bona fide clips against that attack's clips alone",
    "source": "that source's bona fide clips against its spoofs, none of its speakers trained on",
    "corpus": "that corpus's clips, none of its speakers trained on",
    "speaker": "that speaker's clips",
}


def leave_one_out_name(group: str) -> str:
    """The file name (without suffix) of a leave-one-out table: ``leave_one_attack_out``."""
    return f"leave_one_{group}_out"


def write_leave_one_out(
    runs: dict[str, dict[str, list[Path]]],
    folds: dict[str, tuple[str, ...]],
    group: str,
    out: Path,
) -> None:
    """``leave_one_<group>_out.csv`` (one row per run and held-out value) and ``.md`` into
    ``out``: per config (column), the test EER of each held-out value of the group (row) with
    its 95% bootstrap interval, from the fold that held it out (``folds`` maps each fold to the
    values it held out together); then the EER of every fold's test clips pooled, and the mean
    and worst over the values. An attack's EER is its fold's (its spoofs against the test
    speakers' bona fide clips), and attack folds share bona fide clips, so they are not
    pooled."""
    out.mkdir(parents=True, exist_ok=True)
    name_of_file = leave_one_out_name(group)
    cells: dict[str, dict[str, list[dict]]] = {name: {} for name in runs}
    with atomic_write(out / f"{name_of_file}.csv") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["model", "fold", f"held_out_{group}", "run", "eer", "eer_low", "eer_high",
             "bona_fide", "spoof"]
        )  # fmt: skip
        for name, by_fold in runs.items():
            for fold, folders in by_fold.items():
                for folder in folders:
                    for value, summary in _per_value(folder, folds[fold], group).items():
                        cells[name].setdefault(value, []).append(summary)
                        low, high = summary["eer_ci95"]
                        writer.writerow(
                            [name, fold, value, folder, summary["eer"], low, high,
                             summary["bona_fide"], summary["spoof"]]
                        )  # fmt: skip
    names = list(runs)
    values = [value for fold in folds.values() for value in fold]
    fold_of = {value: fold for fold, held in folds.items() for value in held}
    grouped = any(len(held) > 1 for held in folds.values())
    header = [f"Held-out {group}", *(["Fold"] if grouped else []), "Test clips (bona fide / spoof)"]
    lines = ["| " + " | ".join([*header, *names]) + " |", "|---" * (len(header) + len(names)) + "|"]
    for value in values:
        first = cells[names[0]][value][0]
        row = [value, *([fold_of[value]] if grouped else [])]
        row.append(
            f"{first['bona_fide'] + first['spoof']} ({first['bona_fide']} / {first['spoof']})"
        )
        row += [_eer_cell(cells[name][value]) for name in names]
        lines.append("| " + " | ".join(row) + " |")
    padding = [""] * (len(header) - 1)
    if group != "attack":
        pooled = [_pooled_cell([list(f) for f in zip(*runs[name].values(), strict=True)])
                  for name in names]  # fmt: skip
        lines.append("| " + " | ".join(["**pooled**", *padding, *pooled]) + " |")
    for label, summarise in (("mean", statistics.fmean), ("worst", max)):
        row = []
        for name in names:
            per_value = [statistics.fmean(s["eer"] for s in cells[name][v]) for v in values]
            row.append(f"{100 * summarise(per_value):.1f}%")
        lines.append("| " + " | ".join([label, *padding, *row]) + " |")
    first_run = next(iter(next(iter(runs.values())).values()))[0]
    notes = [
        "",
        f"Data: {_corpus(first_run)}. Each held-out {group} is tested by a model trained without "
        f"it{' and the rest of its fold' if grouped else ''}, on {TESTED_ON[group]}; speakers "
        "are disjoint across splits. EER with its 95% bootstrap interval (mean ± std over "
        f"seeds where there are several). Pooled: one EER over the test clips of every fold "
        "together (each clip scored once, by a model that never saw its "
        f"{group}), with its interval. Mean and worst: over the held-out {group}s.",
        "",
        f"Runs: see {name_of_file}.csv",
    ]
    atomic_write_text(out / f"{name_of_file}.md", "\n".join(lines + notes) + "\n")


def _per_value(folder: Path, held_out: tuple[str, ...], group: str) -> dict[str, dict]:
    """The EER (with its interval) and clip counts of each held-out value in a fold's run."""
    run = RunFolder(folder)
    if group == "attack":  # the fold's whole test split
        metrics = run.read_metrics()
        keys = ("eer", "eer_ci95", "bona_fide", "spoof")
        return {held_out[0]: {key: metrics[key] for key in keys}}
    clips = read_scores(run.scores)
    summaries = {}
    for value in held_out:
        members = [clip for clip in clips if getattr(clip, group) == value]
        scores, labels = [c.score for c in members], [c.label for c in members]
        summaries[value] = {
            "eer": eer_threshold(scores, labels)[0],
            "eer_ci95": bootstrap_eer(scores, labels),
            "bona_fide": sum(labels),
            "spoof": len(labels) - sum(labels),
        }
    return summaries


def _eer_cell(summaries: list[dict]) -> str:
    """A held-out value's EER: with its interval for one run, mean ± std over several."""
    cell = _cell([summary["eer"] for summary in summaries], "percent")
    if len(summaries) == 1:
        low, high = summaries[0]["eer_ci95"]
        cell += f" [{100 * low:.1f}, {100 * high:.1f}]"
    return cell


def _pooled_cell(by_seed: list[list[Path]]) -> str:
    """The pooled EER of one set of folds per seed."""
    pooled = [pooled_eer(folders) for folders in by_seed]
    cell = _cell([eer for eer, _, _ in pooled], "percent")
    if len(pooled) == 1:
        low, high = pooled[0][1]
        cell += f" [{100 * low:.1f}, {100 * high:.1f}]"
    return cell + f" ({pooled[0][2]} clips)"


def pooled_eer(folders: list[Path]) -> tuple[float, tuple[float, float], int]:
    """EER (with its 95% bootstrap interval) of the test scores of ``folders`` taken together,
    and the number of clips; a clip scored twice means the folders are not one set of folds."""
    clips = [clip for folder in folders for clip in read_scores(RunFolder(folder).scores)]
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
            metrics = [[RunFolder(f).read_metrics() for f in s] for s in by_seed]
            for index, (folders, seed_metrics) in enumerate(zip(by_seed, metrics, strict=True)):
                for fold, (folder, m) in enumerate(zip(folders, seed_metrics, strict=True)):
                    writer.writerow([name, index, fold, folder, m["eer"], m["auroc"], m["clips"]])
            eers = [[m["eer"] for m in seed_metrics] for seed_metrics in metrics]
            cells = [_cell([seed[fold] for seed in eers], "percent") for fold in range(folds)]
            cells.append(_cell([statistics.fmean(seed) for seed in eers], "percent"))
            lines.append(f"| {name} | " + " | ".join([*cells, _pooled_cell(by_seed)]) + " |")
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
    run = RunFolder(folder)
    if not run.config().is_file():
        return f"unknown (no {run.config().name} in the run)"
    root = run.read_config().get("data", {}).get("init_args", {}).get("root")
    return paths_text(root, "the built-in demo set")


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
        name: [RunFolder(f).read_metrics() for f in folders] for name, folders in groups.items()
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
        "EER with its 95% bootstrap interval for single runs, mean ± std over runs otherwise. "
        "Cllr (bits: 0 perfect, 1 uninformative) and ECE (expected calibration error) of the "
        "calibrated scores.",
        "Inference clips/s: test clips per second of the whole test loop (data included), "
        "on the machine that ran it.",
        "",
        "Runs: " + ", ".join(str(f) for folders in groups.values() for f in folders),
    ]
    atomic_write_text(out / "results.md", "\n".join(lines + notes) + "\n")

    scored: dict[str, list[ScoredClip]] = {
        name: read_scores(RunFolder(folders[0]).scores) for name, folders in groups.items()
    }
    figures = {
        "roc.png": roc_figure(scored),
        "det.png": det_figure(scored),
        "confusion.png": confusion_figure(scored, 0.5),
        "score_histograms.png": histogram_figure(scored),
    }
    for file, figure in figures.items():
        figure.savefig(out / file, dpi=120)

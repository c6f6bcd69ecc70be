"""``deepfake compare``: train configs (or collect finished runs) and tabulate and plot them.

    deepfake compare --configs configs/resnet18.yaml configs/lstm.yaml --seeds 3 -- --data.root D
    deepfake compare --runs lightning_logs/resnet18/version_0 lightning_logs/lstm/version_2
    deepfake compare --protocol leave-one-out --group attack --configs configs/best.yaml -- \\
        --data.root D
    deepfake compare --protocol leave-one-out --group source --configs configs/best.yaml -- \\
        --data.root '[D1, D2]'
    deepfake compare --protocol leave-one-out --group source --folds 4 --held-out P1 ... P16 \\
        --configs configs/best.yaml -- --data.root '[D1, D2, D3]'
    deepfake compare --protocol cross-validation --configs configs/best.yaml -- --data.root D

Writes ``results.md``, ``results.csv``, ``roc.png``, ``det.png``, ``confusion.png`` and
``score_histograms.png``. Runs of the same experiment (config) are aggregated as mean ± std.
The leave-one-out protocol trains each config once per attack, source, corpus or speaker
(``--group``) the corpora name, with that one held out of training and validation: an attack
is tested on the test speakers' bona fide clips against its spoofs alone; a source, corpus or
speaker on all its clips, none of its speakers trained on. With ``--folds N`` the sources,
corpora or speakers are dealt into N folds held out together (e.g. 16 sample pages in 4 folds
of 4: four fits per config rather than sixteen). It writes ``leave_one_<group>_out.md`` and
``.csv``: the EER of each held-out value and of every held-out clip pooled, with bootstrap
intervals; ``--protocol leave-one-attack-out`` is ``--protocol leave-one-out --group attack``.
The cross-validation protocol deals the corpus into ``--folds`` speaker-disjoint folds and
trains each config once per fold, tested on that fold: every clip is tested once, so the EER
rests on the whole corpus rather than on one test split; it writes ``cross_validation.md`` and
``.csv``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

from deepfake_audio.console import command_parser, split_passed_on
from deepfake_audio.data.split import GROUPS
from deepfake_audio.errors import UserError
from deepfake_audio.evaluate.tables import (
    leave_one_out_name,
    write_fold_results,
    write_leave_one_out,
    write_results,
)
from deepfake_audio.runs import RunFolder


def tested_run(path: Path) -> RunFolder:
    """The run folder of a run folder or of a checkpoint inside it; it must hold a test report."""
    run = RunFolder.of(path)
    if not run.metrics.is_file():
        raise UserError(f"{run.path} has no {run.metrics.name}; run `deepfake test` on it first")
    return run


def main(args: list[str]) -> int:
    own, extra = split_passed_on(args)
    parser = command_parser(
        "deepfake compare",
        "Compare detectors: train configs or collect finished runs; write results "
        "tables and ROC/DET/confusion/histogram plots. Arguments after -- go to every fit/test.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--configs", nargs="+", type=Path, help="configs to train and test")
    source.add_argument("--runs", nargs="+", type=Path, help="run folders or checkpoints")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per config (42, 43, ...)")
    parser.add_argument(
        "--protocol",
        choices=["standard", "leave-one-out", "leave-one-attack-out", "cross-validation"],
        default="standard",
        help="standard: the split as configured; leave-one-out: one fit per value of --group "
        "the corpora name, held out and tested on (leave-one-attack-out: with --group attack); "
        "cross-validation: one fit per fold, tested on that fold (all three need --configs)",
    )
    parser.add_argument(
        "--group",
        choices=GROUPS,
        default="attack",
        help="what --protocol leave-one-out holds out: attack (default), source, corpus, speaker",
    )
    parser.add_argument(
        "--held-out",
        nargs="+",
        metavar="VALUE",
        help="the values of --group to hold out, one fit each (default: every one)",
    )
    parser.add_argument(
        "--folds",
        type=int,
        default=None,
        help="folds of --protocol cross-validation (default 5); with leave-one-out, the number "
        "of folds the held-out values are dealt into (default: one fold per value)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse a run of the same config file, seed and options that compare already "
        "fitted and tested (its protocol.json says so) instead of fitting it again",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="default: lightning_logs/compare/<time>"
    )
    options = parser.parse_args(own)
    out = options.out or Path("lightning_logs") / "compare" / time.strftime("%Y%m%d-%H%M%S")
    if options.protocol != "standard" and not options.configs:
        parser.error(f"--protocol {options.protocol} trains: give --configs")
    if options.protocol == "cross-validation":
        options.folds = 5 if options.folds is None else options.folds
        if options.folds < 2:
            parser.error(f"--folds must be at least 2, got {options.folds}")
    if options.configs:  # Lightning only when training
        from deepfake_audio.training import protocols
    if options.protocol == "leave-one-attack-out":
        options.protocol, options.group = "leave-one-out", "attack"
    if options.protocol == "leave-one-out":
        folds = protocols.leave_out_folds(
            options.configs[0], options.group, options.held_out, options.folds, extra
        )
        for fold, held in folds.items():
            if len(held) > 1:
                print(f"deepfake compare: {fold} holds out {', '.join(held)}")
        runs = protocols.leave_one_out(
            options.configs, options.group, folds, options.seeds, extra, options.reuse
        )
        write_leave_one_out(runs, folds, options.group, out)
        table = f"{leave_one_out_name(options.group)}.md"
    elif options.protocol == "cross-validation":
        runs = protocols.cross_validation(
            options.configs, options.folds, options.seeds, extra, options.reuse
        )
        write_fold_results(runs, out)
        table = "cross_validation.md"
    else:
        groups: dict[str, list[Path]] = defaultdict(list)
        if options.configs:
            for config in options.configs:
                for seed in protocols.training_seeds(options.seeds):
                    run = protocols.train_and_test(config, seed, extra, options.reuse)
                    groups[config.stem].append(run)
        else:
            for path in options.runs:
                run = tested_run(path)
                groups[run.name].append(run.path)
        write_results(dict(groups), out)
        table = "results.md"
    print((out / table).read_text())
    print(f"written to {out}")
    return 0

"""Seeded train/val/test splits, speaker-disjoint whenever speakers are known."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from deepfake_audio.data.corpus import SPLITS, Clip, CorpusError


@dataclass(frozen=True)
class SplitSpec:
    """How a corpus without its own partition is split.

    ``held_out_attack`` names one attack (generator) to leave out of training and validation;
    the test split then pits its bona fide clips against that attack alone (the
    leave-one-attack-out protocol of ``deepfake compare``).
    """

    val_fraction: float = 0.15
    test_fraction: float = 0.15
    speaker_disjoint: bool = True
    subset_fraction: float = 1.0
    held_out_attack: str | None = None


def assign_splits(clips: list[Clip], spec: SplitSpec, seed: int) -> list[Clip]:
    """Give every clip a split, keeping a partition the corpus already has (the held-out
    attack, if any, is applied afterwards by :func:`hold_out_attack`)."""
    rng = random.Random(seed)
    if spec.subset_fraction < 1.0:
        clips = _stratified_subset(clips, spec.subset_fraction, rng)
    given = sum(clip.split is not None for clip in clips)
    if given == len(clips):
        split = clips
    elif given:
        raise CorpusError(
            f"{given} of {len(clips)} clips name a split and the others do not: "
            "name one for every clip, or for none"
        )
    else:
        val, test = spec.val_fraction, spec.test_fraction
        fractions = (1.0 - val - test, val, test)
        if spec.speaker_disjoint and all(clip.speaker for clip in clips):
            split = _split_by_speaker(clips, fractions, rng)
        else:
            split = _split_stratified(clips, fractions, rng)
    if spec.speaker_disjoint:
        check_speaker_disjoint(split)
    return split


def attacks_of(clips: list[Clip]) -> list[str]:
    """The attacks (generators) named by a corpus's spoof clips, sorted."""
    return sorted({clip.attack for clip in clips if clip.label == 0 and clip.attack})


def hold_out_attack(clips: list[Clip], attack: str) -> list[Clip]:
    """Split clips for one leave-one-attack-out fold: ``attack`` leaves training and validation,
    and the test split keeps its bona fide clips and that attack's spoofs only."""
    known = attacks_of(clips)
    if attack not in known:
        named = ", ".join(known) if known else "none: the corpus names no attacks"
        raise CorpusError(f"held-out attack {attack!r} is not in the corpus; its attacks: {named}")
    return [
        clip
        for clip in clips
        if (clip.attack == attack) == (clip.split == "test") or clip.label == 1
    ]


def check_speaker_disjoint(clips: list[Clip]) -> None:
    """Fail loudly if a known speaker appears in more than one split."""
    splits_of: dict[str, set[str]] = defaultdict(set)
    for clip in clips:
        if clip.speaker:
            splits_of[clip.speaker].add(clip.split)
    shared = {speaker: splits for speaker, splits in splits_of.items() if len(splits) > 1}
    if shared:
        speaker, splits = sorted(shared.items())[0]
        raise CorpusError(
            f"{len(shared)} speaker(s) are in more than one split, e.g. {speaker!r} in "
            f"{sorted(splits)}: the test would hear voices seen in training. Fix the partition, "
            "or set split.speaker_disjoint: false to accept it"
        )


def _stratified_subset(clips: list[Clip], fraction: float, rng: random.Random) -> list[Clip]:
    kept = []
    for label in sorted({clip.label for clip in clips}):
        members = [clip for clip in clips if clip.label == label]
        kept += rng.sample(members, max(1, round(fraction * len(members))))
    return kept


def _split_stratified(
    clips: list[Clip], fractions: tuple[float, ...], rng: random.Random
) -> list[Clip]:
    result = []
    for label in sorted({clip.label for clip in clips}):
        members = [clip for clip in clips if clip.label == label]
        rng.shuffle(members)
        n_train = round(fractions[0] * len(members))
        n_val = round(fractions[1] * len(members))
        bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val)}
        bounds["test"] = (n_train + n_val, len(members))
        for split, (start, stop) in bounds.items():
            result += [replace(clip, split=split) for clip in members[start:stop]]
    return result


def _split_by_speaker(
    clips: list[Clip], fractions: tuple[float, ...], rng: random.Random
) -> list[Clip]:
    """Deal whole speakers to the split furthest below its share of clips."""
    by_speaker: dict[str, list[Clip]] = defaultdict(list)
    for clip in clips:
        by_speaker[clip.speaker].append(clip)
    speakers = sorted(by_speaker)
    if len(speakers) < len(SPLITS):
        raise CorpusError(
            f"a speaker-disjoint split needs at least {len(SPLITS)} speakers, found "
            f"{len(speakers)}; set speaker_disjoint: false to split clips at random"
        )
    rng.shuffle(speakers)
    targets = {split: share * len(clips) for split, share in zip(SPLITS, fractions, strict=True)}
    counts: Counter[str] = Counter()
    owner = {}
    # Seed every split with one speaker so none ends up empty, then fill by deficit.
    for split, speaker in zip(SPLITS, speakers, strict=False):
        owner[speaker] = split
        counts[split] += len(by_speaker[speaker])
    for speaker in speakers[len(SPLITS) :]:
        split = max(SPLITS, key=lambda s: targets[s] - counts[s])
        owner[speaker] = split
        counts[split] += len(by_speaker[speaker])
    return [replace(clip, split=owner[clip.speaker]) for clip in clips]

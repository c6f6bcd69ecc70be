"""Seeded train/val/test splits, speaker-disjoint whenever speakers are known."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace

from deepfake_audio.data.corpus import Clip, CorpusError


@dataclass(frozen=True)
class SplitSpec:
    """How a corpus without its own partition is split.

    ``held_out_attack`` names one attack (generator) to leave out of training and validation;
    the test split then pits its bona fide clips against that attack alone (the
    leave-one-attack-out protocol of ``deepfake compare``).

    ``test_fold`` (0 to ``folds`` - 1) tests on one of ``folds`` equal parts of the corpus
    (whole speakers when speakers are known) instead of a ``test_fraction``; the other parts
    give the training and validation splits. Over all folds every clip is tested once, by a
    model that never heard its speaker (the cross-validation protocol of ``deepfake compare``).
    """

    val_fraction: float = 0.15
    test_fraction: float = 0.15
    speaker_disjoint: bool = True
    subset_fraction: float = 1.0
    held_out_attack: str | None = None
    folds: int = 5
    test_fold: int | None = None

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ValueError(f"folds must be at least 2, got {self.folds}")
        if self.test_fold is not None and not 0 <= self.test_fold < self.folds:
            raise ValueError(f"test_fold must be 0 to {self.folds - 1}, got {self.test_fold}")
        if self.test_fold is not None and self.val_fraction >= 1 - 1 / self.folds:
            raise ValueError(
                f"val_fraction {self.val_fraction} leaves nothing to train on beside a test "
                f"fold of 1/{self.folds}"
            )


def assign_splits(clips: list[Clip], spec: SplitSpec, seed: int) -> list[Clip]:
    """Give every clip a split, keeping a partition the corpus already has (the held-out
    attack, if any, is applied afterwards by :func:`hold_out_attack`)."""
    rng = random.Random(seed)
    if spec.subset_fraction < 1.0:
        clips = _stratified_subset(clips, spec.subset_fraction, rng)
    given = sum(clip.split is not None for clip in clips)
    if spec.test_fold is not None:
        if given:
            raise CorpusError(
                f"{given} of {len(clips)} clips name a split: cross-validation (test_fold) "
                "deals its own folds, so give it a corpus without a partition"
            )
        split = _split_fold(clips, spec, rng)
    elif given == len(clips):
        split = clips
    elif given:
        raise CorpusError(
            f"{given} of {len(clips)} clips name a split and the others do not: "
            "name one for every clip, or for none"
        )
    else:
        val, test = spec.val_fraction, spec.test_fraction
        shares = {"train": 1.0 - val - test, "val": val, "test": test}
        split = _deal(clips, shares, spec.speaker_disjoint, rng)
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


def _whole_speakers(clips: list[Clip], by_speaker: bool) -> bool:
    """Whether to deal whole speakers: asked for, and every clip names its speaker."""
    return by_speaker and all(clip.speaker for clip in clips)


def _deal(
    clips: list[Clip], shares: dict[str, float], by_speaker: bool, rng: random.Random
) -> list[Clip]:
    """Give each clip one of the splits named in ``shares`` (fractions of the clips): whole
    speakers when ``by_speaker`` and every clip has one, else clips stratified by label."""
    if _whole_speakers(clips, by_speaker):
        return _split_by_speaker(clips, shares, rng)
    return _split_stratified(clips, shares, rng)


def _split_fold(clips: list[Clip], spec: SplitSpec, rng: random.Random) -> list[Clip]:
    """Test on fold ``spec.test_fold`` of ``spec.folds``; split the rest into train and val.
    The folds depend on the seed alone, so the folds of one seed partition the corpus."""
    names = [f"fold {index}" for index in range(spec.folds)]
    if _whole_speakers(clips, spec.speaker_disjoint):
        folds = _split_by_speaker(clips, dict.fromkeys(names, 1 / spec.folds), rng)
    else:
        folds = _deal_in_turn(clips, names, rng)
    test_name = names[spec.test_fold]
    rest = [clip for clip in folds if clip.split != test_name]
    val = spec.val_fraction / (1 - 1 / spec.folds)
    split = _deal(rest, {"train": 1 - val, "val": val}, spec.speaker_disjoint, rng)
    split += [replace(clip, split="test") for clip in folds if clip.split == test_name]
    for name in ("train", "test"):
        labels = {clip.label for clip in split if clip.split == name}
        if len(labels) < 2:
            raise CorpusError(
                f"cross-validation fold {spec.test_fold} of {spec.folds}: its {name} split has "
                f"{'no clips' if not labels else 'one class only'}; use fewer folds, a smaller "
                "val_fraction or a corpus with more speakers of each class"
            )
    return split


def _shuffled_by_label(clips: list[Clip], rng: random.Random) -> Iterator[list[Clip]]:
    """Each label's clips (labels in order), shuffled."""
    for label in sorted({clip.label for clip in clips}):
        members = [clip for clip in clips if clip.label == label]
        rng.shuffle(members)
        yield members


def _deal_in_turn(clips: list[Clip], names: list[str], rng: random.Random) -> list[Clip]:
    """Shuffle each label's clips and deal them to ``names`` in turn: equal parts, each with
    both labels while there are as many clips of each label as parts."""
    return [
        replace(clip, split=names[i % len(names)])
        for members in _shuffled_by_label(clips, rng)
        for i, clip in enumerate(members)
    ]


def _split_stratified(
    clips: list[Clip], shares: dict[str, float], rng: random.Random
) -> list[Clip]:
    result = []
    *leading, last = shares
    for members in _shuffled_by_label(clips, rng):
        start = 0
        for split in leading:
            stop = start + round(shares[split] * len(members))
            result += [replace(clip, split=split) for clip in members[start:stop]]
            start = stop
        result += [replace(clip, split=last) for clip in members[start:]]
    return result


def _split_by_speaker(
    clips: list[Clip], shares: dict[str, float], rng: random.Random
) -> list[Clip]:
    """Deal whole speakers to the split furthest below its share of clips."""
    by_speaker: dict[str, list[Clip]] = defaultdict(list)
    for clip in clips:
        by_speaker[clip.speaker].append(clip)
    speakers = sorted(by_speaker)
    if len(speakers) < len(shares):
        raise CorpusError(
            f"a speaker-disjoint split into {', '.join(shares)} needs at least {len(shares)} "
            f"speakers, found {len(speakers)}; set speaker_disjoint: false to split clips at "
            "random"
        )
    rng.shuffle(speakers)
    targets = {split: share * len(clips) for split, share in shares.items()}
    counts: Counter[str] = Counter()
    owner = {}
    # Seed every split with one speaker so none ends up empty, then fill by deficit.
    for split, speaker in zip(shares, speakers, strict=False):
        owner[speaker] = split
        counts[split] += len(by_speaker[speaker])
    for speaker in speakers[len(shares) :]:
        split = max(shares, key=lambda s: targets[s] - counts[s])
        owner[speaker] = split
        counts[split] += len(by_speaker[speaker])
    return [replace(clip, split=owner[clip.speaker]) for clip in clips]

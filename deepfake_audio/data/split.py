"""Seeded train/val/test splits, speaker-disjoint whenever speakers are known, made per corpus;
and the held-out groups of the leave-one-out protocols."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from deepfake_audio.data.corpus import Clip, CorpusError

GROUPS = ("attack", "source", "corpus", "speaker")  # what a leave-one-out fold holds out
Group = Literal["attack", "source", "corpus", "speaker"]


@dataclass(frozen=True)
class SplitSpec:
    """How a corpus without its own partition is split (each corpus of a list on its own).

    ``held_out`` names one value of ``held_out_group`` to keep out of training and validation
    (the leave-one-out protocols of ``deepfake compare``). An attack: its spoofs leave training
    and validation, and the test split pits its bona fide clips against that attack alone. A
    source, corpus or speaker: all its clips, of both classes, are the test split, and no clip
    of its speakers is trained or validated on; the other clips train and validate. A list of
    sources, corpora or speakers holds them all out together (one fold of several pages).
    ``held_out_attack`` is the older spelling of ``held_out`` with ``held_out_group: attack``.

    ``test_fold`` (0 to ``folds`` - 1) tests on one of ``folds`` equal parts of the corpus
    (whole speakers when speakers are known) instead of a ``test_fraction``; the other parts
    give the training and validation splits. Over all folds every clip is tested once, by a
    model that never heard its speaker (the cross-validation protocol of ``deepfake compare``).
    """

    val_fraction: float = 0.15
    test_fraction: float = 0.15
    speaker_disjoint: bool = True
    subset_fraction: float = 1.0
    held_out: str | list[str] | None = None
    held_out_group: Group = "attack"
    held_out_attack: str | None = None
    folds: int = 5
    test_fold: int | None = None

    def __post_init__(self) -> None:
        if self.held_out_group not in GROUPS:
            raise ValueError(f"held_out_group must be one of {GROUPS}, got {self.held_out_group!r}")
        if self.held_out_attack is not None:
            if self.held_out is not None:
                raise ValueError("give held_out or held_out_attack, not both")
            object.__setattr__(self, "held_out", self.held_out_attack)
            object.__setattr__(self, "held_out_group", "attack")
            object.__setattr__(self, "held_out_attack", None)
        if isinstance(self.held_out, list | tuple):
            if not self.held_out:
                raise ValueError("held_out is an empty list: name what to hold out")
            if self.held_out_group == "attack" and len(self.held_out) > 1:
                raise ValueError("hold out one attack at a time (a list is for other groups)")
            values = tuple(self.held_out)
            object.__setattr__(self, "held_out", values[0] if len(values) == 1 else values)
        if self.folds < 2:
            raise ValueError(f"folds must be at least 2, got {self.folds}")
        if self.test_fold is not None and not 0 <= self.test_fold < self.folds:
            raise ValueError(f"test_fold must be 0 to {self.folds - 1}, got {self.test_fold}")
        if self.test_fold is not None and self.val_fraction >= 1 - 1 / self.folds:
            raise ValueError(
                f"val_fraction {self.val_fraction} leaves nothing to train on beside a test "
                f"fold of 1/{self.folds}"
            )


def make_splits(clips: list[Clip], spec: SplitSpec, seed: int) -> tuple[list[Clip], str | None]:
    """The clips with their splits, and for a leave-one-out fold a line saying what it held out
    and left out (see :class:`SplitSpec`)."""
    if spec.held_out is None:
        return assign_splits(clips, spec, seed), None
    if spec.held_out_group == "attack":
        return hold_out_attack(assign_splits(clips, spec, seed), spec.held_out)
    return hold_out_group(clips, spec, seed)


def assign_splits(clips: list[Clip], spec: SplitSpec, seed: int) -> list[Clip]:
    """Give every clip a split, corpus by corpus, keeping a partition a corpus already has.
    Splitting each corpus on its own gives every split its share of every corpus."""
    rng = random.Random(seed)
    if spec.subset_fraction < 1.0:
        clips = _stratified_subset(clips, spec.subset_fraction, rng)
    val, test = spec.val_fraction, spec.test_fraction
    shares = {"train": 1.0 - val - test, "val": val, "test": test}
    split = _split_corpora(clips, spec, shares, rng)
    if spec.speaker_disjoint:
        check_speaker_disjoint(split)
    return split


def _split_corpora(
    clips: list[Clip], spec: SplitSpec, shares: dict[str, float], rng: random.Random
) -> list[Clip]:
    corpora: dict[str | None, list[Clip]] = defaultdict(list)
    for clip in clips:
        corpora[clip.corpus].append(clip)
    return [
        clip for members in corpora.values() for clip in _split_corpus(members, spec, shares, rng)
    ]


def _split_corpus(
    clips: list[Clip], spec: SplitSpec, shares: dict[str, float], rng: random.Random
) -> list[Clip]:
    where = f"corpus {clips[0].corpus!r}: " if clips[0].corpus else ""
    given = sum(clip.split is not None for clip in clips)
    if spec.test_fold is not None:
        if given:
            raise CorpusError(
                f"{where}{given} of {len(clips)} clips name a split: cross-validation "
                "(test_fold) deals its own folds, so give it a corpus without a partition"
            )
        return _split_fold(clips, spec, rng)
    if given == len(clips):
        return clips
    if given:
        raise CorpusError(
            f"{where}{given} of {len(clips)} clips name a split and the others do not: "
            "name one for every clip, or for none"
        )
    return _deal(clips, shares, spec.speaker_disjoint, rng)


def groups_of(clips: list[Clip], group: str) -> list[str]:
    """The values of ``group`` (attack, source, corpus, speaker) the clips name, sorted; an
    attack is named by spoof clips only."""
    named = (clip for clip in clips if group != "attack" or clip.label == 0)
    return sorted({value for clip in named if (value := getattr(clip, group))})


def attacks_of(clips: list[Clip]) -> list[str]:
    """The attacks (generators) named by a corpus's spoof clips, sorted."""
    return groups_of(clips, "attack")


def _check_held_out(clips: list[Clip], group: str, value: str) -> None:
    known = groups_of(clips, group)
    if value not in known:
        named = ", ".join(known) if known else f"none: the corpus names no {group}s"
        raise CorpusError(f"held-out {group} {value!r} is not in the corpus; its {group}s: {named}")


def hold_out_attack(clips: list[Clip], attack: str) -> tuple[list[Clip], str]:
    """Split clips (see :func:`assign_splits`) for one leave-one-attack-out fold: ``attack``
    leaves training and validation, and the test split keeps its bona fide clips and that
    attack's spoofs only."""
    _check_held_out(clips, "attack", attack)
    kept = [
        clip
        for clip in clips
        if (clip.attack == attack) == (clip.split == "test") or clip.label == 1
    ]
    return kept, (
        f"leave-one-attack-out: {attack!r} held out of training and validation; "
        f"{len(clips) - len(kept)} spoof clips left out (the held-out attack's outside the "
        "test split, the other attacks' inside it)"
    )


def hold_out_group(clips: list[Clip], spec: SplitSpec, seed: int) -> tuple[list[Clip], str]:
    """Unsplit clips for one leave-one-out fold of a source, corpus or speaker: its clips are
    the test split; the other clips, less those of its speakers, are split into training and
    validation (``val_fraction`` of the corpus, by speaker), and a corpus's own test partition
    is left out."""
    group = spec.held_out_group
    values = held_out_values(spec)
    for value in values:
        _check_held_out(clips, group, value)
        labels = {clip.label for clip in clips if getattr(clip, group) == value}
        if len(labels) < 2:
            raise CorpusError(
                f"held-out {group} {value!r} has clips of one class only: its test would have "
                "no EER"
            )
    members = [replace(clip, split="test") for clip in clips if getattr(clip, group) in values]
    speakers = {clip.speaker for clip in members if clip.speaker}
    others = [clip for clip in clips if getattr(clip, group) not in values]
    rest = [clip for clip in others if clip.speaker not in speakers]
    val = spec.val_fraction / (1.0 - spec.test_fraction)
    trained = _split_corpora(rest, spec, {"train": 1.0 - val, "val": val}, random.Random(seed))
    trained = [clip for clip in trained if clip.split != "test"]
    split = members + trained
    if spec.speaker_disjoint:
        check_speaker_disjoint(split)
    named, verb, whose = ", ".join(map(repr, values)), "is", "its"
    if len(values) > 1:
        verb, whose = "are", "their"
    return split, (
        f"leave-one-{group}-out: {named} ({len(members)} clips) {verb} the test split and held "
        f"out of training and validation; {len(others) - len(rest)} other clips of {whose} "
        f"{len(speakers)} speaker(s) and {len(rest) - len(trained)} clips of test partitions "
        "left out"
    )


def held_out_values(spec: SplitSpec) -> tuple[str, ...]:
    """The values a leave-one-out fold holds out (none outside the protocols)."""
    if spec.held_out is None:
        return ()
    return (spec.held_out,) if isinstance(spec.held_out, str) else tuple(spec.held_out)


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

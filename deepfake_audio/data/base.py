"""The DataModule every input representation shares: corpus, health check, cache, split, loaders."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader

from deepfake_audio.audio import load_audio
from deepfake_audio.data.augment import (
    Augmentation,
    FeatureAugmentation,
    SpoofMaker,
    WaveAugmentation,
)
from deepfake_audio.data.cache import (
    ArrayCache,
    AugmentedExtractor,
    Extractor,
    WaveformExtractor,
    default_cache_dir,
    features_extractor,
)
from deepfake_audio.data.corpus import SPLITS, UNLABELLED, Clip, CorpusError, index_corpora
from deepfake_audio.data.dataset import ClipDataset, EpochSampler
from deepfake_audio.data.demo import default_demo_root, ensure_demo_corpus
from deepfake_audio.data.report import DataReport
from deepfake_audio.data.split import SplitSpec, make_splits
from deepfake_audio.errors import UserError
from deepfake_audio.features import Features, InputSpec, Representation, SpectralFeatures
from deepfake_audio.files import portable
from deepfake_audio.runs import RunFolder

Placement = Literal["cache", "worker", "device"]


def _one_thread(_: int) -> None:
    """DataLoader workers share few cores: more torch threads than cores slows everything."""
    torch.set_num_threads(1)


class _DecodeEachTime:
    """Read a clip's waveform from its file on every access (no cache: the seed's path),
    trimmed as the front end says."""

    def __init__(self, features: Features) -> None:
        self.features = features

    def __call__(self, clip: Clip) -> torch.Tensor:
        return self.features.trimmed(load_audio(clip.path, self.features.sample_rate))


class _FromCache:
    """Read a clip's whole utterance from an :class:`ArrayCache`."""

    def __init__(self, cache: ArrayCache) -> None:
        self.cache = cache

    def __call__(self, clip: Clip) -> torch.Tensor:
        return self.cache[clip.path]


def _check_augmented_copies(
    copies: int, augmentations: list[Augmentation], cache: bool, features_on_device: bool
) -> None:
    """Refuse augmented copies that could not be made or read."""
    if not copies:
        return
    if copies < 0:
        raise ValueError(f"augmented_copies must be 0 or more, got {copies}")
    if not cache or features_on_device:
        raise ValueError(
            "augmented_copies are cached: they need cache: true and no features_on_device"
        )
    makers = [type(a).__name__ for a in augmentations if isinstance(a, SpoofMaker)]
    if makers:
        raise ValueError(
            f"augmented copies keep their clip's label, and {', '.join(makers)} relabels what "
            "it makes: leave it out of the augmentations"
        )
    if not any(isinstance(a, WaveAugmentation) for a in augmentations):
        raise ValueError("augmented_copies are made by waveform augmentations: add some")


class AudioDataModule(LightningDataModule):
    """Indexes a corpus, several corpora (``root`` a list, each in its own layout) or the
    built-in demo set; checks and caches it, splits it, and serves batches of front-end features
    as ``(inputs, labels, indices)``.

    Every file is decoded once up front (in parallel, into the cache): unreadable files are left
    out, counted in a warning and listed in ``data_report.txt`` and ``unreadable.csv`` in the
    run's log folder, together with the split lists (``splits.csv``). ``features`` is the front
    end (any registered kind: :mod:`deepfake_audio.features`); subclasses name the
    :attr:`representation` that turns its normalised ``[rows, frames]`` output into a model
    input; every other argument is declared here once.

    Where the front end runs is decided in one place (:meth:`placement`): in the cache (computed
    once per file, the default), in the loader workers (per crop, after waveform augmentation)
    or, with ``features_on_device``, on the device, batched, in :meth:`on_after_batch_transfer`.

    ``augmented_copies`` N > 0 caches N copies of every clip besides the clip itself, each made
    once by the waveform ``augmentations`` (seeded by the copy and the file), and trains on one
    of the clip's N + 1 versions drawn at random for every item: channel and codec augmentation
    for a front end too costly to run on every training crop (an encoder on a CPU), at the cost
    of N more front-end passes over the corpus, once. Feature augmentations still apply per
    item; spoof makers, which relabel what they make, cannot make copies.

    ``test_windows``: ``all`` tests every window of a clip (the clip's score is their mean, as
    ``deepfake detect`` scores a file); ``first`` tests its first window only. Validation always
    takes the first window. ``predict`` scores every window of every clip of the corpora, split
    or not, labelled or not (``format: files``).
    """

    def __init__(
        self,
        root: str | list[str] | None = None,
        features: Features = SpectralFeatures(),
        split: SplitSpec = SplitSpec(),
        augmentations: list[Augmentation] | None = None,
        format: str = "auto",
        cache: bool = True,
        cache_dir: Path | None = None,
        features_on_device: bool = False,
        batch_size: int = 32,
        num_workers: int = 2,
        seed: int = 42,
        test_windows: Literal["all", "first"] = "all",
        augmented_copies: int = 0,
    ) -> None:
        super().__init__()
        if test_windows not in ("all", "first"):
            raise ValueError(f"test_windows must be 'all' or 'first', got {test_windows!r}")
        _check_augmented_copies(augmented_copies, augmentations or [], cache, features_on_device)
        masked = [
            type(a).__name__ for a in augmentations or [] if isinstance(a, FeatureAugmentation)
        ]
        if masked and not features.banded:
            raise ValueError(
                f"{', '.join(masked)} masks filterbank bands, but the rows of {features.kind} "
                "features are not bands (cepstra, phase rows, encoder layers or a waveform): use "
                "waveform augmentations with these features"
            )
        if features_on_device and not features.framed:
            raise ValueError("features_on_device computes a front end: this input is a waveform")
        if features.available:
            raise UserError(features.available)
        self.roots = [Path(r) for r in (root if isinstance(root, list) else [root] if root else [])]
        self.format = format
        self.features = features
        self.split = split
        self.augmentations = augmentations or []
        self.cache = cache
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.features_on_device = features_on_device
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.test_windows = test_windows
        self.augmented_copies = augmented_copies
        self.clips: dict[str, list[Clip]] = {}
        self.unreadable: dict[Path, str] = {}  # the files to score that cannot be read
        self._device_front_end = features.front_end() if features_on_device else None
        self.report: DataReport | None = None
        self._readers: dict[str, Callable[[Clip], torch.Tensor]] = {}

    @property
    def representation(self) -> Representation:
        """How features become this DataModule's model inputs."""
        raise NotImplementedError

    @property
    def input_spec(self) -> InputSpec:
        """The input contract of the models trained on this DataModule."""
        return InputSpec(self.features, self.representation)

    @property
    def input_shape(self) -> list[int]:
        """Shape of one model input, linked to the detector by the CLI."""
        return self.input_spec.input_shape

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Model inputs of a transferred batch (:meth:`device_inputs`), augmented while
        training."""
        return self.device_inputs(batch, self.trainer is not None and self.trainer.training)

    def device_inputs(self, batch: Any, augment: bool) -> Any:
        """A transferred batch as model inputs. With ``features_on_device`` it holds waveform
        crops: the front end, feature augmentations (if ``augment``) and normalisation run
        here, batched, on the crops' device; otherwise it is returned as it is."""
        if not self.features_on_device:
            return batch
        waves, labels, indices = batch
        self._device_front_end = self._device_front_end.to(waves.device)
        features = self._device_front_end(waves)
        for augmentation in self.augmentations if augment else []:
            if isinstance(augmentation, FeatureAugmentation):
                features = torch.stack([augmentation(item) for item in features])
        inputs = self.representation.batch(self.features.normalise(features))
        return inputs, labels, indices

    @property
    def corpus_roots(self) -> list[Path]:
        """The corpora indexed: ``root``, or the built-in demo set."""
        return self.roots or [default_demo_root()]

    @property
    def corpus_label(self) -> str:
        """The corpora for messages and reports."""
        return ", ".join(map(portable, self.corpus_roots))

    @property
    def wave_training(self) -> bool:
        """Training needs waveforms when a waveform augmentation is configured, unless the
        augmentations made cached copies."""
        waves = any(isinstance(a, WaveAugmentation) for a in self.augmentations)
        return waves and not self.augmented_copies

    @property
    def _copy_kinds(self) -> list[str]:
        return [f"copy {copy}" for copy in range(1, self.augmented_copies + 1)]

    def training_class_sizes(self) -> tuple[float, float]:
        """Bona fide and spoof training items per epoch, on average: the training split's, less
        the bona fide crops that spoof makers turn into spoofs."""
        labels = [clip.label for clip in self.clips["train"]]
        kept = math.prod(1 - a.p for a in self.augmentations if isinstance(a, SpoofMaker))
        bona_fide = sum(labels) * kept
        return bona_fide, len(labels) - bona_fide

    def placement(self, split: str, train: bool) -> Placement:
        """Where the front end runs for a split's items: ``device`` with
        ``features_on_device``; ``worker`` (each crop's features computed from its waveform)
        without a cache, for ``predict`` (scored as ``deepfake detect`` scores files) and for
        training with waveform augmentations; ``cache`` otherwise (crops of cached features)."""
        if self.features_on_device:
            return "device"
        if not self.cache or split == "predict" or (train and self.wave_training):
            return "worker"
        return "cache"

    def _extractors(self) -> dict[str, Extractor]:
        """What to cache: the front end's output for evaluation (and training), and waveforms
        wherever a front end runs on them (training with waveform augmentation, or on the
        device)."""
        extractors: dict[str, Extractor] = {"features": features_extractor(self.features)}
        if self.features.framed and self.placement("train", True) != "cache":
            extractors["waveform"] = WaveformExtractor(self.features)
        waves = tuple(a for a in self.augmentations if isinstance(a, WaveAugmentation))
        for copy, kind in enumerate(self._copy_kinds, start=1):
            extractors[kind] = AugmentedExtractor(extractors["features"], waves, copy)
        return extractors

    def index(self) -> list[Clip]:
        """Every clip of the corpora, before health checks and splitting."""
        return index_corpora(self.corpus_roots, self.format)

    def _open_caches(self, clips: list[Clip]) -> dict[str, ArrayCache]:
        paths = [clip.path for clip in clips]
        return {
            kind: ArrayCache.build_or_open(paths, extractor, self.cache_dir, self.num_workers)
            for kind, extractor in self._extractors().items()
        }

    def prepare_data(self) -> None:
        """Runs once per node (rank 0): make the demo corpus and build the caches."""
        if not self.roots:
            ensure_demo_corpus()
        if self.cache:
            self._open_caches(self.index())

    def setup(self, stage: str | None = None) -> None:
        if stage == "predict":
            self._setup_predict()
            return
        if "train" in self.clips:
            return
        clips = self.index()
        if any(clip.label == UNLABELLED for clip in clips):
            raise CorpusError(
                f"{self.corpus_label}: unlabelled files can only be scored (deepfake predict); "
                "training and testing need labelled corpora"
            )
        unreadable = self._check_and_read(clips)
        usable = [clip for clip in clips if clip.path not in unreadable]
        if unreadable:
            warnings.warn(
                f"{self.corpus_label}: left out {len(unreadable)} of {len(clips)} files that "
                "cannot be read; data_report.txt in the run's log folder lists them",
                stacklevel=2,
            )
        if not usable:
            raise CorpusError(f"{self.corpus_label}: none of the {len(clips)} files can be read")
        split, held_out = make_splits(usable, self.split, self.seed)
        self.clips.update({name: [clip for clip in split if clip.split == name] for name in SPLITS})
        if not self.clips["train"]:
            raise CorpusError(
                f"{self.corpus_label}: no clip is in the training split (an evaluation-only "
                "corpus such as ASVspoof 2021 needs a training corpus beside it in data.root)"
            )
        fold = None if self.split.test_fold is None else (self.split.test_fold, self.split.folds)
        self.report = DataReport(self.corpus_label, split, unreadable, held_out, fold)
        if self.trainer is not None:
            log_dir = self.trainer.log_dir  # a collective call under DDP: every rank asks
            if self.trainer.is_global_zero and log_dir:
                self.report.write(RunFolder(Path(log_dir)))

    def _check_and_read(self, clips: list[Clip]) -> dict[Path, str]:
        """Decode every clip once (into the caches), set the readers, and map each unusable
        file to the reason."""
        if self.cache:
            caches = self._open_caches(clips)
            self._readers = {kind: _FromCache(cache) for kind, cache in caches.items()}
            self._readers.setdefault("waveform", self._readers["features"])  # the identity's
            paths = [clip.path for clip in clips]
            unreadable: dict[Path, str] = {}
            for cache in reversed(caches.values()):  # the features cache's reason wins
                unreadable.update(cache.unreadable_among(paths))
            return unreadable
        rate = self.input_spec.sample_rate
        self._readers = {"waveform": _DecodeEachTime(self.features)}
        return DataReport.check_files(clips, rate, self.num_workers)

    def _setup_predict(self) -> None:
        """Every clip of the corpora, to score as ``deepfake detect`` does (each window's
        features from its waveform, no cache); the unreadable ones kept with their reason."""
        if "predict" in self.clips:
            return
        clips = self.index()
        rate = self.input_spec.sample_rate
        self.unreadable = DataReport.check_files(clips, rate, self.num_workers)
        self._readers["predict"] = _DecodeEachTime(self.features)
        self.clips["predict"] = [clip for clip in clips if clip.path not in self.unreadable]

    def _dataset(self, split: str, train: bool, windows: bool = False) -> ClipDataset:
        features = self.features
        cached = self.placement(split, train) == "cache"
        # Inference's windows: window_samples apart, which is frames - 1 hops of a local front
        # end's whole-utterance features, or every frames / train_hop-th of the cached windows
        # of another front end (whose training crops are those windows).
        if not cached or not features.framed:
            length = hop = features.window_samples
            step = 1
        elif features.local:
            length, hop, step = features.frames, features.frames - 1, 1
        else:
            length = step = features.frames
            hop = length * length // features.train_hop
        reader = "features" if cached else "predict" if split == "predict" else "waveform"
        worker = self.placement(split, train) == "worker"
        copies = [self._readers[kind] for kind in self._copy_kinds] if train else []
        augmentations = self.augmentations
        if copies:  # the waveform augmentations made the copies
            augmentations = [a for a in augmentations if isinstance(a, FeatureAugmentation)]
        return ClipDataset(
            self.clips[split],
            read=self._readers[reader],
            copies=copies,
            length=length,
            to_input=self.representation.item,
            front_end=features.front_end() if worker else None,
            normalise=features.normalise,
            waves=not cached,
            train=train,
            augmentations=augmentations,
            seed=self.seed,
            window_hop=hop if windows else None,
            crop_step=step,
            keep_items=self.representation.summary,
        )

    def _loader(self, split: str, train: bool = False, windows: bool = False) -> DataLoader:
        dataset = self._dataset(split, train, windows)
        sampler = None
        if train:
            trainer = self.trainer
            replicas, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
            sampler = EpochSampler(dataset, replicas, rank, shuffle=True, seed=self.seed)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            collate_fn=None if self.features_on_device else self.representation.collate(),
            worker_init_fn=_one_thread,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
            generator=torch.Generator(),  # loaders never draw from the global generator
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", windows=self.test_windows == "all")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict", windows=True)

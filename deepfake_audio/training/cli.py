"""``deepfake fit|validate|test|predict``: a LightningCLI where any config picks any detector
and any DataModule."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

# Third-party deprecation noise that users cannot act on.
warnings.filterwarnings("ignore", message=".*torch.jit.script.* is deprecated")
warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\)")

from jsonargparse import Namespace  # noqa: E402
from lightning.pytorch import Callback, Trainer  # noqa: E402
from lightning.pytorch.callbacks import ModelCheckpoint  # noqa: E402
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI  # noqa: E402
from lightning.pytorch.loggers import TensorBoardLogger  # noqa: E402

from deepfake_audio.data import AudioDataModule  # noqa: E402
from deepfake_audio.evaluate.report import TestReport  # noqa: E402
from deepfake_audio.evaluate.tensorboard import SearchFigures, ValidationFigures  # noqa: E402
from deepfake_audio.models import Detector  # noqa: E402
from deepfake_audio.runs import BEST, LAST, RunFolder  # noqa: E402
from deepfake_audio.training.random_state import RandomState  # noqa: E402
from deepfake_audio.training.run_record import RunRecord  # noqa: E402


class DeepfakeCLI(LightningCLI):
    """LightningCLI with best-checkpoint tracking on ``val/eer`` and one log folder per config.

    ``--ckpt_path best|last`` (or none, for validate/test/predict) resolves to the newest fit
    of the config.
    """

    def __init__(self, args: list[str] | None = None, run: bool = True) -> None:
        self.log_version: int | None = None
        super().__init__(
            Detector,
            AudioDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            seed_everything_default=42,
            auto_configure_optimizers=False,
            save_config_callback=RunRecord,
            save_config_kwargs={"overwrite": True},
            trainer_defaults={
                "callbacks": [TestReport(), ValidationFigures(), SearchFigures(), RandomState()]
            },
            args=args,
            run=run,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # best.ckpt: lowest val/eer. last.ckpt: every epoch, to resume from (Lightning's own
        # save_last follows the best checkpoint only, so a second callback writes it).
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.add_lightning_class_args(ModelCheckpoint, "last_checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/eer",
                "checkpoint.mode": "min",
                "checkpoint.filename": BEST,
                "checkpoint.enable_version_counter": False,
                "last_checkpoint.filename": LAST,
                "last_checkpoint.save_top_k": 1,
                "last_checkpoint.enable_version_counter": False,
                "trainer.default_root_dir": "lightning_logs",
            }
        )
        parser.link_arguments(
            "data.input_shape", "model.init_args.input_shape", apply_on="instantiate"
        )

    def _section(self, config: Namespace) -> Namespace:
        """The part of a config for the running subcommand (all of it when run=False)."""
        return config[self.subcommand] if self.subcommand else config

    @property
    def experiment_name(self) -> str:
        """Log folder name: the stem of the first ``--config`` (later ones are overlays), else
        the detector's class."""
        config = self._section(self.config)
        if config.get("config"):
            return Path(str(config.config[0])).stem
        return config.model.class_path.rsplit(".", 1)[-1].lower()

    @property
    def experiment_dir(self) -> Path:
        return Path(self._section(self.config).trainer.default_root_dir) / self.experiment_name

    def before_instantiate_classes(self) -> None:
        config = self._section(self.config)
        if "ckpt_path" not in config:
            return
        if config.get("weights_only") is None:
            # Never unpickle a checkpoint unless asked to: --weights_only false for trusted ones.
            config.weights_only = True
        which = config.ckpt_path
        if which is None and self.subcommand != "fit":
            which = BEST
        if which in (BEST, LAST):
            run = RunFolder.latest(self.experiment_dir, which)
            if run is None:
                raise SystemExit(
                    f"deepfake {self.subcommand}: no {which}.ckpt under {self.experiment_dir}/"
                    "version_*/checkpoints; run `deepfake fit` with this config first or pass "
                    "--ckpt_path FILE"
                )
            config.ckpt_path = str(run.checkpoint(which))
        if config.ckpt_path:
            self.log_version = self._run_version(Path(config.ckpt_path))

    def _run_version(self, checkpoint: Path) -> int | None:
        """The version of this experiment a checkpoint belongs to, so results log beside it."""
        run = RunFolder.of(checkpoint.resolve())
        return run.version if run.path.parent == self.experiment_dir.resolve() else None

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        trainer_config = self._section(self.config_init).trainer
        if trainer_config.get("logger") in (None, True):
            kwargs["logger"] = TensorBoardLogger(
                save_dir=trainer_config.default_root_dir,
                name=self.experiment_name,
                version=self.log_version,
                default_hp_metric=False,
            )
        self.save_config_kwargs["config_filename"] = RunFolder(Path()).config(self.subcommand).name
        return super().instantiate_trainer(**kwargs)

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list[Callback]) -> Trainer:
        if config.get("enable_checkpointing") is False:  # honour it: drop our checkpointing
            callbacks = [c for c in callbacks if not isinstance(c, ModelCheckpoint)]
        return super()._instantiate_trainer(config, callbacks)

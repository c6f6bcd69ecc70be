"""``deepfake fit|validate|test|predict``: a LightningCLI where any config picks any detector
and any DataModule."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

# Third-party deprecation noise and vendor tips that users cannot act on.
warnings.filterwarnings("ignore", message=".*torch.jit.script.* is deprecated")
warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\)")


class _NoVendorTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_NoVendorTips())

import torch  # noqa: E402
from jsonargparse import Namespace  # noqa: E402
from lightning.pytorch import Trainer  # noqa: E402
from lightning.pytorch.callbacks import ModelCheckpoint  # noqa: E402
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI  # noqa: E402
from lightning.pytorch.loggers import TensorBoardLogger  # noqa: E402

from deepfake_audio.console import format_metrics, plain_jsonargparse_formatter  # noqa: E402
from deepfake_audio.data import AudioDataModule  # noqa: E402
from deepfake_audio.errors import UserError  # noqa: E402
from deepfake_audio.evaluate.report import TestReport  # noqa: E402
from deepfake_audio.evaluate.tensorboard import SearchFigures, ValidationFigures  # noqa: E402
from deepfake_audio.models import Detector  # noqa: E402
from deepfake_audio.models.format import FormatError, migrate_hyperparameters  # noqa: E402
from deepfake_audio.runs import BEST, LAST, RunFolder  # noqa: E402
from deepfake_audio.training.predictions import PredictionWriter  # noqa: E402
from deepfake_audio.training.random_state import RandomState  # noqa: E402
from deepfake_audio.training.run_record import RunRecord  # noqa: E402

SUBCOMMANDS = ("fit", "validate", "test", "predict")


class PlainArgumentParser(LightningArgumentParser):
    """Lightning's parser, with help in plain text (also for ``--X.help CLASS``, which makes a
    parser of the same class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", plain_jsonargparse_formatter())
        super().__init__(*args, **kwargs)


class DeepfakeCLI(LightningCLI):
    """LightningCLI with best-checkpoint tracking on ``val/eer`` and one log folder per config.

    ``--ckpt_path best|last`` (or none, for validate/test/predict) resolves to the newest fit
    of the config, and the checkpoint's detector arguments, brought to the current form
    (:func:`~deepfake_audio.models.format.migrate_hyperparameters`), update the config.
    Lightning applies a checkpoint's arguments before any public hook, without migrating them,
    so :meth:`parse_arguments` holds the path back until :meth:`before_instantiate_classes`
    has resolved it. Only LightningCLI's public hooks are overridden.
    """

    def __init__(self, args: list[str] | None = None, run: bool = True) -> None:
        self.log_version: int | None = None
        if args is not None:  # given on purpose (compare, release, a subcommand's rewrite)
            warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
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
                "callbacks": [
                    TestReport(),
                    ValidationFigures(),
                    SearchFigures(),
                    RandomState(),
                    PredictionWriter(),
                ]
            },
            # Argument errors raise, for the deepfake front to report in one line.
            parser_kwargs={"exit_on_error": False}
            | {name: {"exit_on_error": False} for name in SUBCOMMANDS},
            parser_class=PlainArgumentParser,
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

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Lightning's, holding the checkpoint path back (see the class's notes)."""
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        section = self.config[subcommand] if subcommand else None
        self._ckpt_path = section.get("ckpt_path") if section is not None else None
        if self._ckpt_path is not None:
            section.ckpt_path = None

    def before_instantiate_classes(self) -> None:
        config = self._section(self.config)
        if config.get("trainer", {}).get("enable_checkpointing") is False:
            # Honour it: the two checkpoint callbacks are always there, so they save nothing.
            config.trainer.enable_checkpointing = True
            for key in ("checkpoint", "last_checkpoint"):
                config[key].save_top_k = 0
                config[key].save_last = False
        if "ckpt_path" not in config:
            return
        config.ckpt_path = self._ckpt_path
        if config.get("weights_only") is None:
            # Never unpickle a checkpoint unless asked to: --weights_only false for trusted ones.
            config.weights_only = True
        which = config.ckpt_path
        if which is None and self.subcommand != "fit":
            which = BEST
        if which in (BEST, LAST):
            run = RunFolder.latest(self.experiment_dir, which)
            if run is None:
                raise UserError(
                    f"no {which}.ckpt under {self.experiment_dir}/version_*/checkpoints; run "
                    "`deepfake fit` with this config first or pass --ckpt_path FILE"
                )
            config.ckpt_path = str(run.checkpoint(which))
        if config.ckpt_path:
            if not Path(config.ckpt_path).is_file():
                raise UserError(f"{config.ckpt_path}: no such checkpoint (--ckpt_path)")
            self.log_version = self._run_version(Path(config.ckpt_path))
            self._apply_checkpoint_arguments(config.ckpt_path)  # replaces self.config: last

    def _apply_checkpoint_arguments(self, path: str) -> None:
        """The checkpoint's detector arguments, in the current form, update the config (so a
        format 1 checkpoint tests with today's config)."""
        try:
            checkpoint = torch.load(path, weights_only=True, map_location="cpu")
        except Exception as error:  # torch raises many types for a file that is no checkpoint
            raise FormatError(f"{path}: not a readable checkpoint ({error})") from error
        hparams = migrate_hyperparameters(dict(checkpoint.get("hyper_parameters", {})))
        hparams.pop("_instantiator", None)
        if not hparams:
            return
        if "_class_path" in hparams:
            hparams = {"class_path": hparams.pop("_class_path"), "dict_kwargs": hparams}
        self.config = self.parser.parse_object({self.subcommand: {"model": hparams}}, self.config)

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

    def validate(self, verbose: bool = True, **kwargs: Any) -> None:
        """``trainer.validate``, its metrics printed to four significant digits."""
        self._print_results(self.trainer.validate(verbose=False, **kwargs), verbose)

    def test(self, verbose: bool = True, **kwargs: Any) -> None:
        """``trainer.test``, its metrics printed to four significant digits (the report says
        where its files went)."""
        self._print_results(self.trainer.test(verbose=False, **kwargs), verbose)

    def _print_results(self, results: list[dict[str, float]], verbose: bool) -> None:
        if verbose and results and self.trainer.is_global_zero:
            print(format_metrics({name: float(value) for name, value in results[0].items()}))

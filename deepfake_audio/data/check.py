"""``deepfake data check``: what a corpus holds and which files cannot be used, without training."""

from __future__ import annotations

from jsonargparse import ArgumentParser, lazy_instance

from deepfake_audio.console import plain_jsonargparse_formatter
from deepfake_audio.data import AudioDataModule, MelImageDataModule


def main(args: list[str]) -> int:
    """Index, decode and split a corpus and print its report; exit status 1 when some file
    cannot be used."""
    parser = ArgumentParser(
        formatter_class=plain_jsonargparse_formatter(),
        prog="deepfake data check",
        description="Check a corpus without training: layout, labels, split, unreadable files.",
    )
    parser.add_subclass_arguments(
        AudioDataModule, "data", default=lazy_instance(MelImageDataModule), required=False
    )
    config = parser.parse_args(args)
    datamodule = parser.instantiate_classes(config).data
    datamodule.prepare_data()
    datamodule.setup()
    print(datamodule.report.summary())
    return 1 if datamodule.report.unreadable else 0

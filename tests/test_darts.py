"""DARTS: the search's bi-level steps, genotype derivation and rebuilding, a tiny search."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
import torch
from conftest import CONFIG_DIR, run_cli, small_run_args
from lightning.pytorch import Callback, Trainer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from deepfake_audio.data import SequenceDataModule
from deepfake_audio.data.augment import SpecAugment
from deepfake_audio.features import SpectralFeatures
from deepfake_audio.models import DartsSearch, Detector
from deepfake_audio.models.genotypes import Genotype, derive_genotype, load_genotype
from deepfake_audio.models.networks import build_network
from deepfake_audio.models.networks.darts import DartsNetwork, SearchNetwork

OPERATIONS = ["none", "skip", "conv_3", "lstm"]
CELL = Genotype(
    nodes=((("conv_3", 0),), (("lstm", 0), ("skip", 1)), (("gru", 1), ("max_pool_3", 2)))
)


class StepRecorder(Callback):
    """Which optimiser stepped, which parameters had gradients then, and every input the
    network saw, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def on_fit_start(self, trainer: Trainer, pl_module: DartsSearch) -> None:
        pl_module.network.register_forward_pre_hook(
            lambda module, args: self.events.append(("forward", args[0].detach().clone()))
        )

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        self.events.append(("train_batch", batch[0].clone()))

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        network = pl_module.network
        with_grad = lambda params: [p.grad is not None for p in params]  # noqa: E731
        self.events.append(
            (
                "step",
                {
                    "optimizer": trainer.optimizers.index(
                        getattr(optimizer, "optimizer", optimizer)
                    ),
                    "architecture": with_grad(network.architecture_parameters()),
                    "weights": with_grad(network.weight_parameters()),
                },
            )
        )


def tiny_search(
    corpus: Path, warmup_epochs: int = 0, **data_options
) -> tuple[DartsSearch, SequenceDataModule]:
    data = SequenceDataModule(
        root=corpus,
        features=SpectralFeatures(n_mels=16, frames=24),
        batch_size=4,
        num_workers=0,
        **data_options,
    )
    network = partial(SearchNetwork, channels=8, nodes=2, operations=OPERATIONS)
    model = DartsSearch(data.input_shape, network, warmup_epochs=warmup_epochs)
    return model, data


def fit(model: DartsSearch, data: SequenceDataModule, tmp_path: Path, **options) -> Trainer:
    trainer = Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        default_root_dir=tmp_path,
        **options,
    )
    trainer.fit(model, datamodule=data)
    return trainer


@pytest.mark.parametrize("on_device", [False, True], ids=["loader", "features_on_device"])
def test_alpha_learns_only_from_validation_and_weights_only_from_training(
    tiny_corpus: Path, tmp_path: Path, on_device: bool
):
    # On the device, training batches get SpecAugment there; the α batches must not.
    options = {"features_on_device": True, "augmentations": [SpecAugment(p=1.0)]}
    model, data = tiny_search(tiny_corpus, **(options if on_device else {}))
    recorder = StepRecorder()
    fit(model, data, tmp_path, max_steps=2, callbacks=[recorder])  # two optimiser steps
    first_validation_batch = next(iter(data.val_dataloader()))
    if on_device:
        first_validation_batch = data.device_inputs(first_validation_batch, augment=False)
    first_validation_batch = first_validation_batch[0]
    events = recorder.events
    assert [kind for kind, _ in events] == ["train_batch", "forward", "step", "forward", "step"]
    train_inputs, (_, arch_inputs), (_, arch_step), (_, weight_inputs), (_, weight_step) = [
        (kind, value) if kind != "train_batch" else value for kind, value in events
    ]
    # The architecture step: on a validation batch, gradients for α and β only.
    assert torch.equal(arch_inputs, first_validation_batch)
    assert arch_step["optimizer"] == 1
    assert all(arch_step["architecture"]) and not any(arch_step["weights"])
    # The weight step: on the training batch, gradients for the weights only.
    assert torch.equal(weight_inputs, train_inputs)
    assert weight_step["optimizer"] == 0
    assert not any(weight_step["architecture"]) and any(weight_step["weights"])


def test_warmup_epochs_train_the_weights_only(tiny_corpus: Path, tmp_path: Path):
    model, data = tiny_search(tiny_corpus, warmup_epochs=1)
    alphas, betas = (p.detach().clone() for p in model.network.architecture_parameters())
    weights = [p.detach().clone() for p in model.network.weight_parameters()]
    fit(model, data, tmp_path, max_epochs=1)
    assert torch.equal(model.network.alphas, alphas) and torch.equal(model.network.betas, betas)
    trained = model.network.weight_parameters()
    assert any(not torch.equal(p, q) for p, q in zip(trained, weights, strict=True))


def test_derivation_keeps_the_strongest_edges_and_their_argmax_non_zero_operations():
    sources = [[0], [0, 1], [0, 1, 2]]
    edge_weights = torch.tensor(
        [
            [0.7, 0.1, 0.15, 0.05],  # 0->1: `none` dominates, conv_3 is the best real one
            [0.1, 0.6, 0.2, 0.1],  # 0->2: skip
            [0.1, 0.1, 0.1, 0.7],  # 1->2: lstm
            [0.9, 0.02, 0.03, 0.05],  # 0->3: lstm, but weakest (0.05 * 1/3)
            [0.1, 0.1, 0.6, 0.2],  # 1->3: conv_3
            [0.2, 0.5, 0.2, 0.1],  # 2->3: skip
        ]
    )
    node_weights = torch.tensor([1.0, 0.5, 0.5, 1 / 3, 1 / 3, 1 / 3])
    genotype = derive_genotype(OPERATIONS, sources, edge_weights, node_weights, top_k=2)
    assert genotype.nodes == (
        (("conv_3", 0),),
        (("skip", 0), ("lstm", 1)),
        (("conv_3", 1), ("skip", 2)),
    )
    # A strong β outranks a strong operation weight.
    node_weights[3:] = torch.tensor([0.9, 0.05, 0.05])
    assert derive_genotype(OPERATIONS, sources, edge_weights, node_weights).nodes[2] == (
        ("lstm", 0),
        ("conv_3", 1),
    )


def test_search_network_derives_a_valid_genotype_of_its_size():
    network = SearchNetwork([12, 16], channels=8, nodes=3, operations=OPERATIONS)
    genotype = network.genotype(top_k=1)
    assert [len(edges) for edges in genotype.nodes] == [1, 1, 1]
    assert network(torch.randn(2, 12, 16)).shape == (2,)


def test_a_saved_genotype_rebuilds_the_same_network(tmp_path: Path):
    path = tmp_path / "cell.json"
    path.write_text(CELL.to_json())
    assert load_genotype(str(path)) == CELL
    network = partial(DartsNetwork, genotype=str(path), channels=8, cells=2)
    detector = Detector([24, 16], network).eval()
    config = json.loads(json.dumps(detector.network.config))  # exported models keep JSON
    assert config["init_args"]["genotype"] == CELL.to_dict()
    path.unlink()  # the network config holds the cell itself
    rebuilt = build_network(config).eval()
    rebuilt.load_state_dict(detector.network.state_dict())
    frames = torch.randn(3, 24, 16)
    assert torch.equal(rebuilt(frames), detector(frames))
    fresh = DartsNetwork([24, 16], CELL.to_dict(), channels=8, cells=2)
    shapes = {name: p.shape for name, p in fresh.state_dict().items()}
    assert shapes == {name: p.shape for name, p in rebuilt.state_dict().items()}


def test_the_derived_network_keeps_any_number_of_frames():
    network = DartsNetwork([40, 16], CELL.to_dict(), channels=8, cells=1).eval()
    for frames in (1, 7, 40):
        logits = network(torch.randn(2, frames, 16))
        assert logits.shape == (2,) and torch.isfinite(logits).all()


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        (((("swish", 0),),), "unknown operation 'swish'"),
        (((("none", 0),),), "unknown operation 'none'"),
        (((("skip", 1),),), "does not precede"),
        (((("skip", 0),), ()), "node 2 has no incoming edge"),
        ((), "at least one"),
    ],
)
def test_invalid_genotypes_are_rejected(nodes, message: str):
    with pytest.raises(ValueError, match=message):
        Genotype(nodes=nodes)


def test_a_missing_genotype_file_is_named():
    with pytest.raises(ValueError, match="'no/such.json' is not a file"):
        load_genotype("no/such.json")


@pytest.mark.slow
def test_tiny_search_then_fit_of_its_genotype(tiny_corpus: Path, tmp_path: Path):
    config = CONFIG_DIR
    tiny = [
        "--model.init_args.network.init_args.channels=8",
        "--model.init_args.network.init_args.nodes=2",
    ]
    run_cli(
        [
            "search",
            f"--config={config / 'darts_search.yaml'}",
            *small_run_args(tiny_corpus, tmp_path, batch_size=4),
            *tiny,
            "--model.init_args.warmup_epochs=1",
            "--trainer.max_epochs=2",
        ]
    )
    run_dir = tmp_path / "darts_search" / "version_0"
    genotype = load_genotype(str(run_dir / "genotype.json"))
    assert len(genotype.nodes) == 2
    tags = EventAccumulator(str(run_dir)).Reload().Tags()
    assert "search/alpha" in tags["images"]
    assert {"alpha/0->1/lstm", "beta/1->2", "search/architecture_loss"} <= set(tags["scalars"])

    run_cli(
        [
            "fit",
            f"--config={config / 'darts.yaml'}",
            *small_run_args(tiny_corpus, tmp_path, batch_size=4),
            f"--model.init_args.network.init_args.genotype={run_dir / 'genotype.json'}",
            "--model.init_args.network.init_args.channels=8",
            "--trainer.max_epochs=1",
        ]
    )
    checkpoint = torch.load(tmp_path / "darts" / "version_0" / "checkpoints" / "best.ckpt")
    network = checkpoint["deepfake_audio"]["network"]
    assert network["init_args"]["genotype"] == genotype.to_dict()


def test_the_shipped_genotype_is_valid():
    config = CONFIG_DIR
    assert "genotype: configs/darts_genotype.json" in (config / "darts.yaml").read_text()
    assert load_genotype(config / "darts_genotype.json").nodes

"""Each detector: one forward pass on random input gives one finite logit per item."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from deepfake_audio.data.graph import collate_graphs
from deepfake_audio.models import DartsDetector, GCNDetector, LSTMDetector, TimmDetector
from deepfake_audio.models.genotypes import GENOTYPES, RecurrentGenotype, load_genotype


@pytest.mark.parametrize("backbone", ["resnet18", "res2net50_26w_4s", "senet154"])
@pytest.mark.parametrize("channels", [1, 3])
def test_timm_detectors(backbone: str, channels: int):
    model = TimmDetector([channels, 20, 32], backbone=backbone).eval()
    logits = model(torch.randn(2, channels, 20, 32))
    assert logits.shape == (2,)
    assert torch.isfinite(logits).all()


def test_timm_detector_rejects_sequence_input():
    with pytest.raises(ValueError, match="MelImageDataModule"):
        TimmDetector([32, 20])


@pytest.mark.parametrize("detector", [LSTMDetector, DartsDetector])
def test_recurrent_detectors(detector):
    logits = detector([32, 20])(torch.randn(3, 32, 20))
    assert logits.shape == (3,)
    assert torch.isfinite(logits).all()


def test_gcn_detector():
    graphs, _, _ = collate_graphs([(torch.randn(16, 20), torch.tensor(1.0), 0)] * 3, k=4)
    logits = GCNDetector([16, 20])(graphs)
    assert logits.shape == (3,)
    assert torch.isfinite(logits).all()


def test_genotype_round_trips_through_json(tmp_path: Path):
    path = tmp_path / "cell.json"
    path.write_text(GENOTYPES["darts_v2"].to_json())
    assert load_genotype(str(path)) == GENOTYPES["darts_v2"]


def test_genotype_file_builds_the_same_network(tmp_path: Path):
    path = tmp_path / "cell.json"
    path.write_text(json.dumps({"nodes": [["relu", 0], ["tanh", 1]], "concat": [1, 2]}))
    model = DartsDetector([8, 4], genotype=str(path))
    assert len(model.network.recurrence.node_layers) == 2
    assert model.network.config["init_args"]["genotype"] == str(path)


@pytest.mark.parametrize(
    ("nodes", "concat", "message"),
    [
        ((("swish", 0),), (1,), "unknown activation"),
        ((("relu", 1),), (1,), "does not precede"),
        ((("relu", 0),), (2,), "outside"),
    ],
)
def test_invalid_genotypes_are_rejected(nodes, concat, message):
    with pytest.raises(ValueError, match=message):
        RecurrentGenotype(nodes=nodes, concat=concat)


def test_unknown_genotype_name():
    with pytest.raises(ValueError, match="neither one of"):
        load_genotype("no_such_cell")

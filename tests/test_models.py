"""Each detector: one forward pass on random input gives one finite logit per item; the
shared loss options and collapse warning."""

from __future__ import annotations

import re
import warnings
from functools import partial
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from deepfake_audio.data import SequenceDataModule
from deepfake_audio.data.augment import Splice
from deepfake_audio.data.graph import collate_graphs
from deepfake_audio.models import (
    DartsDetector,
    GCNDetector,
    LSTMDetector,
    TDNNDetector,
    TimmDetector,
)
from deepfake_audio.models.networks import EnsembleNetwork, TDNNNetwork, build_network


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


@pytest.mark.parametrize(
    "detector",
    [LSTMDetector, partial(DartsDetector, genotype="configs/darts_genotype.json", channels=8)],
    ids=["lstm", "darts"],
)
def test_sequence_detectors(detector):
    logits = detector([32, 20])(torch.randn(3, 32, 20))
    assert logits.shape == (3,)
    assert torch.isfinite(logits).all()


def test_an_ensemble_averages_members_that_start_from_different_weights():
    detector = TDNNDetector([32, 20], channels=8, members=3).eval()
    members = detector.network.members
    assert len(members) == 3
    assert not torch.equal(members[0].stem[0].weight, members[1].stem[0].weight)
    frames = torch.randn(4, 32, 20)
    each = torch.stack([member(frames) for member in members], dim=-1)
    assert torch.allclose(detector(frames), each.mean(dim=-1))
    rebuilt = build_network(detector.network.config)
    rebuilt.load_state_dict(detector.network.state_dict())
    assert torch.allclose(rebuilt.eval()(frames), detector(frames))


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")  # no Trainer here
def test_each_ensemble_member_learns_from_its_own_loss_only():
    torch.manual_seed(0)
    detector = TDNNDetector([32, 20], channels=8, members=2)
    frames, labels = torch.randn(4, 32, 20), torch.tensor([1.0, 0.0, 1.0, 0.0])
    detector._shared_step((frames, labels, torch.arange(4)), "train")[0].backward()
    first = detector.network.members[0]
    alone = build_network(first.config)
    alone.load_state_dict(first.state_dict())
    F.binary_cross_entropy_with_logits(alone(frames), labels).backward()
    # The shared loss is the mean of the members' own losses: member 0's gradient is half of
    # what its loss alone gives, whatever member 1 predicts.
    for shared, own in zip(first.parameters(), alone.parameters(), strict=True):
        assert torch.allclose(shared.grad, own.grad / 2, atol=1e-6)


def test_members_can_read_different_leading_features_of_each_frame():
    detector = TDNNDetector([32, 20], channels=8, members=2, member_features=[None, 12]).eval()
    whole, leading = detector.network.members
    frames = torch.randn(4, 32, 20)
    changed_tail = frames.clone()
    changed_tail[..., 12:] = torch.randn(4, 32, 8)
    assert torch.equal(leading(changed_tail), leading(frames))
    assert not torch.allclose(whole(changed_tail), whole(frames))
    changed_head = frames.clone()
    changed_head[..., :12] = torch.randn(4, 32, 12)
    assert not torch.allclose(leading(changed_head), leading(frames))
    rebuilt = build_network(detector.network.config)
    rebuilt.load_state_dict(detector.network.state_dict())
    assert torch.allclose(rebuilt.eval()(frames), detector(frames))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"members": 3, "member_features": [None, 12]}, "2 entries for 3 members"),
        ({"members": 2, "member_features": [None, 21]}, "1 to the 20 values of a frame, got 21"),
        ({"members": 2, "member_features": [0, None]}, "1 to the 20 values of a frame, got 0"),
    ],
)
def test_member_features_must_fit_the_members_and_the_frame(arguments: dict, message: str):
    with pytest.raises(ValueError, match=message):
        TDNNDetector([32, 20], **arguments)


@pytest.mark.parametrize(("blocks", "accepted"), [((12, 8), True), ((10, 10), False)])
def test_member_features_must_end_a_block_of_the_data(blocks: tuple, accepted: bool):
    detector = TDNNDetector([32, 20], channels=8, members=2, member_features=[None, 12])
    features = SimpleNamespace(blocks=blocks)
    detector._trainer = SimpleNamespace(datamodule=SimpleNamespace(features=features))
    if accepted:
        detector.setup("fit")
    else:
        with pytest.raises(ValueError, match="entry 12 does not end a block.*first 10 or 20"):
            detector.setup("fit")


def test_an_ensemble_saved_as_one_config_and_a_count_still_rebuilds():
    # Ensembles exported before member_features: one member config without used_features.
    networks = "deepfake_audio.models.networks"
    member = {"class_path": f"{networks}.TDNNNetwork", "init_args": {"in_features": 20}}
    saved = {"member": member, "members": 3}
    network = build_network({"class_path": f"{networks}.EnsembleNetwork", "init_args": saved})
    assert [m.used_features for m in network.members] == [20, 20, 20]
    assert network(torch.randn(2, 32, 20)).shape == (2,)
    with pytest.raises(ValueError, match="members is required with a single member config"):
        EnsembleNetwork(member)


def test_one_member_is_the_plain_network_and_fewer_are_refused():
    assert type(TDNNDetector([32, 20], members=1).network) is TDNNNetwork
    with pytest.raises(ValueError, match="members must be at least 1"):
        TDNNDetector([32, 20], members=0)
    with pytest.raises(ValueError, match="at least 2 members"):
        EnsembleNetwork(TDNNNetwork(20).config, members=1)
    with pytest.raises(ValueError, match="members is 3 but 2 configs"):
        EnsembleNetwork([TDNNNetwork(20).config] * 2, members=3)


def test_gcn_detector():
    graphs, _, _ = collate_graphs([(torch.randn(16, 20), torch.tensor(1.0), 0)] * 3, k=4)
    logits = GCNDetector([16, 20])(graphs)
    assert logits.shape == (3,)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize(
    ("augmentations", "weight"),
    [([], 2.0), ([Splice(p=0.5)], 5.0)],  # 6 / 3; 7.5 / 1.5 when half the bona fide are spliced
)
def test_balanced_loss_weighs_bona_fide_by_the_class_ratio_of_the_training_items(
    augmentations: list, weight: float
):
    datamodule = SequenceDataModule(None, augmentations=augmentations)
    datamodule.clips = {"train": [SimpleNamespace(label=1)] * 3 + [SimpleNamespace(label=0)] * 6}
    detector = LSTMDetector([8, 4], balanced_loss=True)
    detector._trainer = SimpleNamespace(datamodule=datamodule)
    detector.setup("fit")
    assert float(detector.loss.pos_weight) == weight
    logits, labels = torch.tensor([0.3, -0.2]), torch.tensor([1.0, 0.0])
    expected = (weight * F.softplus(-logits[0]) + F.softplus(logits[1])) / 2
    assert torch.isclose(detector.loss(logits, labels), expected)
    # The weight belongs to the training split: checkpoints neither keep nor need it.
    assert "loss.pos_weight" not in detector.state_dict()
    LSTMDetector([8, 4]).load_state_dict(detector.state_dict())


def test_the_loss_is_unweighted_by_default():
    detector = LSTMDetector([8, 4])
    detector.setup("fit")
    assert detector.loss.pos_weight is None


@pytest.mark.parametrize(
    ("scores", "warning"),
    [
        ([0.9, 0.8, 0.7, 0.6], "predicted bona fide \\(TPR 1.00, TNR 0.00\\)"),
        ([0.1, 0.2, 0.3, 0.4], "predicted spoof \\(TPR 0.00, TNR 1.00\\)"),
        ([0.9, 0.2, 0.7, 0.6], None),
    ],
)
def test_a_model_predicting_one_class_is_warned_about(scores: list[float], warning: str | None):
    detector = LSTMDetector([8, 4])
    detector.val_metrics.update(torch.tensor(scores), torch.tensor([1, 1, 0, 0]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        detector._warn_if_one_class()
    messages = [str(w.message) for w in caught if "collapsed" in str(w.message)]
    if warning is None:
        assert messages == []
    else:
        assert len(messages) == 1 and re.search(warning, messages[0])

"""Networks and the detector: every registered network scores its input and rebuilds from its
config; ensembles; the shared loss options and collapse warning."""

from __future__ import annotations

import inspect
import re
import warnings
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from deepfake_audio.data import SequenceDataModule
from deepfake_audio.data.augment import Splice
from deepfake_audio.features import (
    InputSpec,
    LayerStack,
    LayerStatistics,
    Representation,
    SpectralFeatures,
    Waveform,
    WaveformFeatures,
    WhisperFeatures,
)
from deepfake_audio.models import Detector
from deepfake_audio.models.detector import group_weights
from deepfake_audio.models.networks import build_network, registered_networks
from deepfake_audio.models.networks.cnn import TimmNetwork
from deepfake_audio.models.networks.ensemble import EnsembleNetwork
from deepfake_audio.models.networks.layers import LayerStatisticsNetwork, LayerStatsNetwork
from deepfake_audio.models.networks.recurrent import RecurrentNetwork
from deepfake_audio.models.networks.tdnn import TDNNNetwork

SMALL = SpectralFeatures(n_mels=20, frames=32)


def small_spec(representation: str) -> InputSpec:
    """A small input of a representation: 32 frames of 20 bands, 1 s of waveform, or 25 frames
    of three encoder layers."""
    if representation == "waveform":
        return InputSpec(WaveformFeatures(window_samples=16_000), Waveform())
    if representation in ("layers", "layer_statistics"):
        features = WhisperFeatures.example()
        stacked = Representation.from_dict({"name": representation, "layers": len(features.blocks)})
        return InputSpec(features, stacked)
    return InputSpec(SMALL, Representation.from_dict({"name": representation}))


def random_inputs(spec: InputSpec, items: int) -> Any:
    """A batch of model inputs made from random features (or waveforms)."""
    features = spec.features
    shape = [features.frame_size, features.frames] if features.framed else [spec.window_samples]
    return spec.representation.batch(torch.randn(items, *shape))


HEAVY = {"AASISTNetwork"}  # seconds to build and run on a CPU


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=[pytest.mark.slow] if n in HEAVY else [])
        for n in sorted(registered_networks())
    ],
)
def test_every_registered_network_scores_its_input_and_rebuilds_from_its_config(name: str):
    network_class = registered_networks()[name]
    spec = small_spec(network_class.reads)
    network = network_class.example(spec.input_shape).eval()
    inputs = random_inputs(spec, 3)
    logits = network(inputs)
    assert logits.shape == (3,)
    assert torch.isfinite(logits).all()
    rebuilt = build_network(network.config).eval()
    rebuilt.load_state_dict(network.state_dict())
    assert torch.equal(rebuilt(inputs), logits)
    # Every argument is in the record (with its default when not given), so a rebuild never
    # falls back on a default that a later version may change.
    arguments = set(inspect.signature(network_class.__init__).parameters) - {"self"}
    if "recorded" not in vars(network_class):  # a network that records its own way
        assert set(network.config["init_args"]) == arguments


def test_only_registered_networks_are_built():
    with pytest.raises(ValueError, match="not a registered deepfake_audio network"):
        build_network({"class_path": "torch.nn.Linear", "init_args": {}})
    # A registered name under another module path is refused too.
    with pytest.raises(ValueError, match="not a registered"):
        build_network({"class_path": "os.TDNNNetwork", "init_args": {}})


@pytest.mark.parametrize(
    "backbone",
    ["resnet18", "res2net50_26w_4s", pytest.param("senet154", marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("channels", [1, 3])
def test_the_seed_cnns(backbone: str, channels: int):
    model = Detector([channels, 20, 32], partial(TimmNetwork, backbone=backbone)).eval()
    logits = model(torch.randn(2, channels, 20, 32))
    assert logits.shape == (2,)
    assert torch.isfinite(logits).all()


def test_a_network_refuses_input_of_another_representation():
    with pytest.raises(ValueError, match="MelImageDataModule"):
        TimmNetwork([32, 20])
    with pytest.raises(ValueError, match="SequenceDataModule"):
        TDNNNetwork([3, 32, 20])


def test_an_ensemble_averages_members_that_start_from_different_weights():
    detector = Detector([32, 20], partial(TDNNNetwork, channels=8), members=3).eval()
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
    detector = Detector([32, 20], partial(TDNNNetwork, channels=8), members=2)
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
    network = partial(TDNNNetwork, channels=8)
    detector = Detector([32, 20], network, members=2, member_args=[{}, {"used_features": 12}])
    whole, leading = detector.eval().network.members
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
        ({"members": 3, "member_args": [{}, {}]}, "2 entries for 3 members"),
        (
            {"members": 2, "member_args": [{}, {"used_features": 21}]},
            "1 to the 20 values of a frame, got 21",
        ),
        (
            {"members": 2, "member_args": [{"used_features": 0}, {}]},
            "1 to the 20 values of a frame, got 0",
        ),
        ({"members": 0}, "members must be at least 1"),
    ],
)
def test_members_and_their_arguments_must_fit(arguments: dict, message: str):
    with pytest.raises(ValueError, match=message):
        Detector([32, 20], TDNNNetwork, **arguments)


@pytest.mark.parametrize(("blocks", "accepted"), [((12, 8), True), ((10, 10), False)])
def test_a_network_reading_leading_features_must_end_a_block_of_the_data(
    blocks: tuple, accepted: bool
):
    args = [{}, {"used_features": 12}]
    detector = Detector([32, 20], partial(TDNNNetwork, channels=8), members=2, member_args=args)
    spec = SimpleNamespace(features=SimpleNamespace(blocks=blocks))
    detector._trainer = SimpleNamespace(datamodule=SimpleNamespace(input_spec=spec))
    if accepted:
        detector.setup("fit")
    else:
        with pytest.raises(
            ValueError, match="used_features 12 does not end a block.*first 10 or 20"
        ):
            detector.setup("fit")


def test_one_member_is_the_plain_network_and_an_ensemble_needs_two():
    assert type(Detector([32, 20], TDNNNetwork, members=1).network) is TDNNNetwork
    with pytest.raises(ValueError, match="at least 2 members"):
        EnsembleNetwork([TDNNNetwork([32, 20])])


@pytest.mark.parametrize(
    ("augmentations", "weight"),
    [([], 2.0), ([Splice(p=0.5)], 5.0)],  # 6 / 3; 7.5 / 1.5 when half the bona fide are spliced
)
def test_balanced_loss_weighs_bona_fide_by_the_class_ratio_of_the_training_items(
    augmentations: list, weight: float
):
    datamodule = SequenceDataModule(augmentations=augmentations)
    datamodule.clips = {"train": [SimpleNamespace(label=1)] * 3 + [SimpleNamespace(label=0)] * 6}
    detector = Detector([8, 4], RecurrentNetwork, balanced_loss=True)
    detector._trainer = SimpleNamespace(datamodule=datamodule)
    detector.setup("fit")
    assert float(detector.loss.pos_weight) == weight
    logits, labels = torch.tensor([0.3, -0.2]), torch.tensor([1.0, 0.0])
    expected = (weight * F.softplus(-logits[0]) + F.softplus(logits[1])) / 2
    assert torch.isclose(detector.loss(logits, labels), expected)
    # The weight belongs to the training split: checkpoints neither keep nor need it.
    assert "loss.pos_weight" not in detector.state_dict()
    Detector([8, 4], RecurrentNetwork).load_state_dict(detector.state_dict())


def test_the_loss_is_unweighted_by_default():
    detector = Detector([8, 4], RecurrentNetwork)
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
def test_a_model_predicting_one_class_is_warned_about_once_it_persists(
    scores: list[float], warning: str | None
):
    detector = Detector([8, 4], RecurrentNetwork)
    detector.val_metrics.update(torch.tensor(scores), torch.tensor([1, 1, 0, 0]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for validation in range(1, 6):
            detector._warn_if_one_class()
            messages = [str(w.message) for w in caught if "collapsed" in str(w.message)]
            if warning is None or validation < 3:  # the first epochs may sit on one side
                assert messages == []
            else:  # the third one-class validation in a row warns, once
                assert len(messages) == 1 and re.search(warning, messages[0])


def test_a_healthy_validation_resets_the_collapse_count():
    detector = Detector([8, 4], RecurrentNetwork)
    labels = torch.tensor([1, 1, 0, 0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for scores in ([0.9] * 4, [0.9] * 4, [0.9, 0.9, 0.1, 0.1], [0.9] * 4, [0.9] * 4):
            detector.val_metrics.reset()
            detector.val_metrics.update(torch.tensor(scores), labels)
            detector._warn_if_one_class()
    assert not [w for w in caught if "collapsed" in str(w.message)]


def test_group_balance_gives_each_source_and_label_the_same_weight():
    clips = [
        *[SimpleNamespace(source="page-a", corpus="x", label=1)] * 2,
        *[SimpleNamespace(source="page-a", corpus="x", label=0)] * 6,
        *[SimpleNamespace(source=None, corpus="y", label=1)] * 4,  # counts in its corpus
    ]
    weights = group_weights(clips, "source")
    assert weights.mean() == pytest.approx(1.0)
    assert weights[:2].sum() == pytest.approx(weights[2:8].sum())  # bona fide as spoof
    assert weights[:2].sum() == pytest.approx(weights[8:].sum())  # every group alike


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")  # no Trainer here
def test_a_group_balanced_loss_is_the_weighted_mean_of_the_items_losses():
    clips = [SimpleNamespace(source=s, corpus="x", label=y) for s, y in ("a1", "a0", "a0", "b1")]
    detector = Detector([8, 4], RecurrentNetwork, balance_groups="source")
    detector._trainer = SimpleNamespace(datamodule=SimpleNamespace(clips={"train": clips}))
    detector.setup("fit")
    detector._trainer = None  # training steps outside a Trainer
    frames, labels = torch.randn(4, 8, 4), torch.tensor([1.0, 0.0, 0.0, 1.0])
    loss, logits = detector._shared_step((frames, labels, torch.arange(4)), "train")
    weights = group_weights(clips, "source")
    expected = (
        weights * F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    ).mean()
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")  # no Trainer here
def test_margins_shift_each_clips_logit_by_its_class_in_the_loss():
    detector = Detector([8, 4], RecurrentNetwork, margins=(18.0, 4.0))
    frames, labels = torch.randn(4, 8, 4), torch.tensor([1.0, 0.0, 0.0, 1.0])
    loss, logits = detector._shared_step((frames, labels, torch.arange(4)), "val")
    margins = torch.tensor([18.0, 4.0, 4.0, 18.0])
    expected = F.binary_cross_entropy_with_logits(logits - margins, labels)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)


def test_a_cosine_head_gives_bounded_logits_that_ignore_the_embeddings_length():
    network = LayerStatsNetwork([6, 3, 4], embedding=5, scale=20.0).eval()
    logits = network(torch.randn(16, 6, 3, 4) * 100)
    assert logits.shape == (16,) and logits.abs().max() <= 20.0 + 1e-4
    head = network.linear[-1]
    embeddings = torch.randn(3, 5)
    assert torch.allclose(head(embeddings), head(7.0 * embeddings), atol=1e-5)


def test_pooling_the_standard_deviation_alone_ignores_a_constant_offset_of_a_layer():
    stack = torch.randn(8, 6, 3, 4)
    offset = stack.clone()
    offset[:, :, 1] += torch.randn(8, 1, 4) * 10  # each clip's own shift of one layer
    std_only = LayerStatsNetwork([6, 3, 4], statistics=["std"]).eval()
    assert torch.allclose(std_only(stack), std_only(offset), atol=1e-5)
    both = LayerStatsNetwork([6, 3, 4]).eval()
    assert not torch.allclose(both(stack), both(offset), atol=1e-3)
    assert std_only.linear.in_features == both.linear.in_features // 2


@pytest.mark.parametrize("statistics", [["mean", "std"], ["std"]])
def test_the_probe_on_pooled_statistics_is_the_probe_on_the_layers(statistics: list[str]):
    features = torch.randn(5, 12, 6) * 3 + 2  # 3 layers of 4 values, 6 frames
    on_layers = LayerStatsNetwork([6, 3, 4], statistics=statistics).train()
    on_layers(LayerStack(3).batch(features))  # standardisation statistics to carry over
    on_statistics = LayerStatisticsNetwork([2, 3, 4], statistics=statistics).eval()
    on_statistics.load_state_dict(on_layers.state_dict())
    on_layers.eval()
    pooled = LayerStatistics(3).batch(features)
    assert pooled.shape == (5, 2, 3, 4)
    expected = on_layers(LayerStack(3).batch(features))
    assert torch.allclose(on_statistics(pooled), expected, atol=1e-5)


@pytest.mark.parametrize("statistics", [[], ["std", "std"], ["median"]])
def test_pooled_statistics_must_be_mean_or_std_each_at_most_once(statistics: list[str]):
    with pytest.raises(ValueError, match="statistics"):
        LayerStatsNetwork([6, 3, 4], statistics=statistics)


def test_margins_put_the_bona_fide_margin_above_the_spoof_margin():
    with pytest.raises(ValueError, match="first above"):
        Detector([8, 4], RecurrentNetwork, margins=(4.0, 18.0))


@pytest.mark.filterwarnings("ignore:You are trying to `self.log")  # no Trainer here
def test_with_margins_the_metrics_decide_at_their_midpoint():
    detector = Detector([8, 4], RecurrentNetwork, margins=(18.0, 4.0))
    detector.network.member_logits = lambda frames: torch.tensor([[12.0], [10.0]])
    labels = torch.tensor([1.0, 0.0])
    detector._shared_step((torch.randn(2, 8, 4), labels, torch.arange(2)), "val")
    assert float(detector.val_metrics["acc"].compute()) == 1.0  # 12 > 11 > 10, though both > 0

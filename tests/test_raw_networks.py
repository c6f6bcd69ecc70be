"""The raw-waveform networks: the sinc front end's band edges and filters, RawNet2's and
AASIST's sizes against their papers, ONNX parity, and gradients reaching the band edges."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepfake_audio.models.networks import Network, build_network
from deepfake_audio.models.networks.aasist import AASISTNetwork
from deepfake_audio.models.networks.rawnet2 import RawNet2Network
from deepfake_audio.models.sinc import SincConv, hz_to_mel

RATE = 16000


def parameters(network: torch.nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())


def small_aasist(samples: int = RATE) -> AASISTNetwork:
    """AASIST's layers at a fraction of its width, for quick checks."""
    return AASISTNetwork(
        [samples], sinc_filters=30, encoder_channels=[8, 8, 16, 16, 16, 16], gat_dims=[16, 8]
    )


@pytest.mark.parametrize(("filters", "taps"), [(20, 1024), (70, 128)])
def test_the_initial_band_edges_are_mel_spaced_and_inside_the_band(filters: int, taps: int):
    edges = SincConv(filters, taps, RATE).band_edges().detach().double()
    low, high = edges[:, 0], edges[:, 1]
    assert (low > 0).all() and (high < RATE / 2).all() and (low < high).all()
    assert (low.diff() > 0).all() and (high.diff() > 0).all()
    # Adjacent bands share an edge, and the edges are equally spaced in mel.
    assert torch.allclose(high[:-1], low[1:], rtol=1e-5)
    steps = hz_to_mel(torch.cat([low, high[-1:]])).diff()
    assert torch.allclose(steps, steps.mean().expand_as(steps), rtol=1e-4)


def _response(kernels: torch.Tensor, hz: float, points: int = 1 << 15) -> torch.Tensor:
    """The magnitude response of every kernel at a frequency (nearest FFT bin)."""
    spectrum = torch.fft.rfft(kernels.double(), n=points).abs()
    return spectrum[:, round(hz / RATE * points)]


@pytest.mark.parametrize(
    ("filters", "taps", "chosen"),
    # A 128-tap filter cannot resolve the narrow low bands (its transition is ~400 Hz wide):
    # the short bank is checked on its wider upper bands.
    [(20, 1024, [1, 5, 9, 13, 17]), (70, 128, [52, 58, 64, 68])],
)
def test_each_filter_passes_its_band_and_attenuates_outside_it(
    filters: int, taps: int, chosen: list[int]
):
    sinc = SincConv(filters, taps, RATE)
    kernels = sinc.kernels().detach()[:, 0]
    edges = sinc.band_edges().detach()
    for i in chosen:
        low, high = edges[i].tolist()
        width = high - low
        centre = _response(kernels, (low + high) / 2)[i]
        below = _response(kernels, low - width)[i]
        above = _response(kernels, high + width)[i]
        assert centre > 0.5, (i, centre)  # unit gain in the pass band, less for short kernels
        assert centre >= 10 * below and centre >= 10 * above, (i, centre, below, above)


def test_sinc_convolution_shapes_and_edge_limits():
    sinc = SincConv(6, 65, RATE, min_low_hz=30.0, min_band_hz=10.0)
    waves = torch.randn(2, 1000)
    assert sinc(waves).shape == (2, 6, 1000 - 65 + 1)
    assert torch.equal(sinc(waves[:, None]), sinc(waves))
    with torch.no_grad():
        sinc.low_hz.copy_(torch.tensor([-100.0, 0.0, 500.0, 9000.0, 3000.0, 7990.0]))
        sinc.band_hz.copy_(torch.tensor([0.0, -5.0, 100.0, 100.0, 9000.0, 100.0]))
    low, high = sinc.band_edges().unbind(-1)
    assert (low >= 30.0).all() and (high <= RATE / 2).all()
    assert torch.equal(high[:2] - low[:2], torch.tensor([10.0, 15.0]))
    assert torch.isfinite(sinc(waves)).all()


def test_parameter_counts_match_the_papers():
    # AASIST: 297 K parameters; AASIST-L: 85 K (Jung et al., 2022).
    aasist = parameters(AASISTNetwork([64600]))
    light = parameters(AASISTNetwork([64600], size="AASIST-L"))
    assert abs(aasist - 297_000) <= 0.15 * 297_000, aasist
    assert abs(light - 85_000) <= 0.15 * 85_000, light
    # RawNet2's layer sizes (20 sinc filters, blocks of 20 and 128 filters, a 3 x 1024 GRU, a
    # 1024 fully connected layer) hold about 17.6 M parameters, 16.1 M of them in the GRU; the
    # AASIST paper lists 25.43 M for RawNet2. Either is within this range.
    rawnet2 = parameters(RawNet2Network([64600]))
    assert 15_000_000 <= rawnet2 <= 27_000_000, rawnet2


def test_the_light_size_and_overrides_are_recorded_in_the_config():
    network = AASISTNetwork([RATE], size="AASIST-L", gat_dims=[16, 16])
    args = network.config["init_args"]
    assert args["size"] == "AASIST-L" and args["gat_dims"] == [16, 16]
    assert args["encoder_channels"] == [32, 32, 24, 24, 24, 24]
    assert parameters(build_network(network.config)) == parameters(network)
    with pytest.raises(ValueError, match="size must be one of"):
        AASISTNetwork([RATE], size="huge")
    with pytest.raises(ValueError, match="too few"):
        RawNet2Network([2000])


def _onnx_logits(network: Network, window: int, waves: torch.Tensor) -> np.ndarray:
    import onnxruntime

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's and the deprecated exporter's warnings
        torch.onnx.export(
            network,
            (torch.zeros(2, window),),
            buffer,
            input_names=["input"],
            output_names=["logit"],
            dynamic_axes={"input": {0: "batch"}, "logit": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    return session.run(["logit"], {"input": waves.numpy()})[0]


@pytest.mark.parametrize(
    "make",
    [lambda: RawNet2Network.example([RATE]), small_aasist],
    ids=["RawNet2", "AASIST"],
)
@pytest.mark.slow
def test_onnx_export_gives_the_same_logits(make):
    torch.manual_seed(0)
    network = make()
    waves = 0.1 * torch.randn(3, RATE)
    # Batch statistics of real activations, so that the logits differ between clips (with the
    # initial running statistics every clip scores about the same).
    for module in network.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.momentum = None
    with torch.no_grad():
        network.train()(0.1 * torch.randn(4, RATE))
    network.eval()
    with torch.no_grad():
        expected = network(waves).numpy()
    exported = _onnx_logits(network, RATE, waves)
    assert exported.shape == (3,)
    assert np.ptp(expected) > 1e-2
    np.testing.assert_allclose(exported, expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "make",
    [lambda: RawNet2Network.example([RATE]), small_aasist],
    ids=["RawNet2", "AASIST"],
)
def test_gradients_reach_every_band_edge(make):
    torch.manual_seed(0)
    network = make().train()
    logits = network(0.1 * torch.randn(4, RATE))
    F.binary_cross_entropy_with_logits(logits, torch.tensor([1.0, 0.0, 1.0, 0.0])).backward()
    for edge in (network.sinc.low_hz, network.sinc.band_hz):
        assert edge.grad is not None and (edge.grad != 0).all()


def test_frozen_band_edges_stay_put():
    network = RawNet2Network.example([RATE])
    frozen = RawNet2Network(**{**network.config["init_args"], "learn_sinc": False})
    assert not frozen.sinc.low_hz.requires_grad and not frozen.sinc.band_hz.requires_grad
    assert torch.equal(frozen.sinc.band_edges(), network.sinc.band_edges())

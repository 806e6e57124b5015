"""PaintsTorch networks, frozen feature loaders and the WGAN-GP losses on tiny, known cases."""

import pytest
import torch

from inkwash.errors import InkwashError
from inkwash.losses import (LossConfig, critic_loss, drift, generator_loss, gradient_penalty, reconstruction,
                            wasserstein)
from inkwash.models import registry
from inkwash.models.features import (VGG16_RELUS, Illustration2Vec, SeededF1, VGG16Features, build_f1, build_f2,
                                     read_state_dict)
from inkwash.models.paintstorch import Critic, Generator
from inkwash.train.run import make_config


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def tiny():
    return make_config("paintstorch", "tiny").model


def batch(b=2, s=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 1, s, s, generator=g) * 2 - 1
    h = torch.zeros(b, 4, s // 4, s // 4)
    y = torch.rand(b, 3, s, s, generator=g) * 2 - 1
    return x, h, y


def test_generators_and_critic_map_the_documented_shapes_and_ranges(tiny):
    torch.manual_seed(0)
    x, h, y = batch()
    f = build_f1(tiny)(x)
    assert f.shape == (2, tiny.feat_channels, 4, 4) and (f >= 0).all()
    y_hat = Generator(tiny, 1, 3)(x, h, f)
    assert y_hat.shape == (2, 3, 64, 64) and y_hat.abs().max() <= 1
    x_hat = Generator(tiny, 3, 1)(y_hat, h, f)
    assert x_hat.shape == (2, 1, 64, 64)
    assert Critic(tiny)(y, f).shape == (2, 1)


def test_hints_and_features_steer_the_colorizer(tiny):
    torch.manual_seed(0)
    g1 = Generator(tiny, 1, 3).eval()
    x, h, _ = batch()
    f = build_f1(tiny)(x)
    base = g1(x, h, f)
    painted = h.clone()
    painted[:, 0, 4:8, 4:8], painted[:, 3, 4:8, 4:8] = 1.0, 1.0  # a red stroke
    assert (g1(x, painted, f) - base).abs().max() > 0  # small at init, but wired in
    assert (g1(x, h, torch.zeros_like(f)) - base).abs().max() > 0


def test_base_preset_has_alacgan_widths():
    cfg = make_config("paintstorch", "base").model
    g1 = Generator(cfg, 1, 3)
    assert g1.enc4[0].out_channels == 8 * 64 and g1.dec4[0][0].in_channels == 8 * 64 + 512
    assert sum(1 for m in g1.dec4 if m.__class__.__name__ == "ResNeXtBottleneck") == 20


def test_alacgan_entry_has_no_second_generator_and_pixel_hints():
    cfg = make_config("alacgan", "tiny")
    assert cfg.data.hints == "pixels" and not cfg.model.use_g2
    assert set(registry.get("alacgan").build(cfg.model)) == {"g1", "critic"}
    with pytest.raises(InkwashError, match="unknown model"):
        registry.get("nope")


def test_seeded_features_are_reproducible_and_frozen(tiny):
    a, b, c = SeededF1(16, seed=0), SeededF1(16, seed=0), SeededF1(16, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.body[1].weight, c.body[1].weight)
    assert not any(p.requires_grad for p in build_f2(tiny).parameters())


def _fake_i2v_state():
    g = torch.Generator().manual_seed(3)
    layout = {0: (64, 3), 3: (128, 64), 6: (256, 128), 8: (256, 256), 11: (512, 256), 13: (512, 512)}
    state = {}
    for i, (o, c) in layout.items():
        state[f"{i}.weight"] = torch.randn(o, c, 3, 3, generator=g) * 0.01
        state[f"{i}.bias"] = torch.randn(o, generator=g)
    state["31.weight"] = torch.zeros(2, 2, 3, 3)  # a later layer (the tag head) that F1 drops
    return state


def test_i2v_loader_maps_alacgan_keys(tmp_path):
    state = _fake_i2v_state()
    torch.save(state, tmp_path / "i2v.pth")
    net = Illustration2Vec.from_file(tmp_path / "i2v.pth")
    assert torch.equal(net.body[13].weight, state["13.weight"]) and torch.equal(net.body[0].bias, state["0.bias"])
    out = net(torch.zeros(1, 1, 64, 64))
    assert out.shape == (1, 512, 4, 4)
    del state["11.bias"]
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(InkwashError, match="missing weights"):
        Illustration2Vec.from_file(tmp_path / "broken.pth")


def test_vgg16_loader_maps_torchvision_keys_up_to_the_layer(tmp_path):
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(4)
    shapes = {0: (64, 3), 2: (64, 64), 5: (128, 64), 7: (128, 128)}
    state = {f"features.{i}.weight": torch.randn(o, c, 3, 3, generator=g) for i, (o, c) in shapes.items()}
    state.update({f"features.{i}.bias": torch.randn(o, generator=g) for i, (o, _) in shapes.items()})
    state["classifier.0.weight"] = torch.zeros(4, 4)
    save_file(state, str(tmp_path / "vgg16.safetensors"))
    net = VGG16Features.from_file(tmp_path / "vgg16.safetensors", "relu2_2")
    assert VGG16_RELUS["relu2_2"] == 8 and len(net.body) == 9
    assert torch.equal(net.body[7].weight, state["features.7.weight"])
    assert net(torch.zeros(1, 3, 32, 32)).shape == (1, 128, 16, 16)
    state["features.7.weight"] = torch.zeros(128, 64, 3, 3)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(InkwashError, match="shape"):
        VGG16Features.from_file(tmp_path / "bad.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InkwashError, match="not a readable weights file"):
        read_state_dict(tmp_path / "junk.pth")


def test_gradient_penalty_has_its_known_value_on_a_linear_critic():
    # C(y) = <w, y>: dC/dy = w everywhere, so GP = (||w|| - 1)^2 whatever the interpolation
    w = torch.full((1, 2, 3, 3), 0.5)  # ||w|| = sqrt(18 * 0.25) = 2.1213
    critic = lambda y, f: (y * w).flatten(1).sum(1, keepdim=True) + 0 * f.sum()  # noqa: E731
    real, fake, f = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3), torch.zeros(4, 1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gp = gradient_penalty(critic, real, fake, f)
    assert gp.dtype == torch.float32
    assert gp.item() == pytest.approx((4.5**0.5 - 1) ** 2, rel=1e-5)


def test_critic_loss_combines_wasserstein_penalty_and_drift():
    real, fake = torch.tensor([[1.0], [3.0]]), torch.tensor([[-1.0], [0.0]])
    assert wasserstein(real, fake).item() == pytest.approx(-0.5 - 2.0)
    assert drift(real).item() == pytest.approx(5.0)
    out = critic_loss(real, fake, torch.tensor(0.25), LossConfig())
    assert out["loss"].item() == pytest.approx(-2.5 + 10 * 0.25 + 1e-3 * 5.0)
    assert reconstruction(torch.ones(1, 1, 2, 2), -torch.ones(1, 1, 2, 2)).item() == pytest.approx(4.0)


def test_generator_loss_weights_its_terms_and_skips_those_weighted_zero():
    fake, real, scores = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5), torch.tensor([[2.0]])
    calls = []

    def f2(img):  # a "feature network" that records its calls: features = the image doubled
        calls.append(1)
        return img * 2

    total, out = generator_loss(LossConfig(lambda_adv=0.1, lambda_cont=1.0, lambda_l1=3.0), scores, f2, fake, real)
    assert out["adv"].item() == -2.0 and out["content"].item() == pytest.approx(1.0) and out["l1"].item() == 0.5
    assert total.item() == pytest.approx(0.1 * -2.0 + 1.0 + 3.0 * 0.5) and len(calls) == 2
    total, out = generator_loss(LossConfig(lambda_adv=0.1, lambda_cont=0.0, lambda_l1=0.0), scores, f2, fake, real)
    assert "content" not in out and len(calls) == 2 and total.item() == pytest.approx(-0.2)


def test_i2v_f1_requires_its_file_and_width(tiny):
    tiny.f1 = "i2v"
    with pytest.raises(InkwashError, match="feat_channels"):
        build_f1(tiny)
    tiny.feat_channels = 512
    with pytest.raises(InkwashError, match="f1_path"):
        build_f1(tiny)

"""Batched augmentation: exact transforms against torch references, per-sample randomness, invariants."""

import pytest
import torch
import torch.nn.functional as F

from mnistlab.data.augment import affine_matrices, augment_batch, base_grid, gaussian_matrix, preview
from mnistlab.train.config import Augment

AFFINE = Augment(rotation=15, translate=0.1, scale_min=0.9, scale_max=1.1, shear=10)
EVERYTHING = Augment(rotation=15, translate=0.1, scale_min=0.9, scale_max=1.1, shear=10, hflip=True,
                     elastic_alpha=34, elastic_sigma=4)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def pattern(b: int = 1) -> torch.Tensor:
    """An asymmetric test image (no rotation or mirror maps it onto itself), repeated b times: (b, 28, 28)."""
    x = torch.zeros(28, 28)
    x[4:9, 6:20] = 1.0  # a bar near the top
    x[10:24, 18:22] = 0.5  # a column on the right
    x[20, 5] = 0.8  # a lone dot bottom-left
    return x.expand(b, 28, 28).clone()


def warp(x: torch.Tensor, angle=0.0, dx=0.0, dy=0.0, scale=1.0, shear=0.0, flip=False) -> torch.Tensor:
    """Apply one explicit transform to every image of x (B, H, W) via affine_matrices and F.affine_grid."""
    b, h, w = x.shape
    theta = affine_matrices(torch.full((b,), float(angle)), torch.tensor([[dx, dy]]).expand(b, 2),
                            torch.full((b,), float(scale)), torch.full((b,), float(shear)),
                            torch.full((b,), flip, dtype=torch.bool), size=(h, w))
    grid = F.affine_grid(theta, [b, 1, h, w], align_corners=False)
    return F.grid_sample(x[:, None], grid, align_corners=False)[:, 0]


def test_inactive_returns_input_unchanged():
    x = pattern(3)
    assert augment_batch(x, Augment()) is x
    assert augment_batch(x, Augment(concat_original=True)) is x


def test_identity_parameters_are_identity():
    torch.testing.assert_close(warp(pattern()), pattern(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("angle,k", [(90, 1), (-90, -1), (180, 2)])
def test_rotation_is_counter_clockwise_like_rot90(angle, k):
    # Positive angles turn the content counter-clockwise on screen, as torch.rot90(k=1, dims=(-2, -1)).
    torch.testing.assert_close(warp(pattern(), angle=angle), torch.rot90(pattern(), k, dims=(-2, -1)),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("dx,dy", [(3, 0), (0, -2), (-4, 3)])
def test_translation_shifts_by_whole_pixels(dx, dy):
    # +dx moves content right, +dy moves it down; the pattern stays clear of the border, so roll == shift.
    torch.testing.assert_close(warp(pattern(), dx=dx, dy=dy), torch.roll(pattern(), (dy, dx), dims=(-2, -1)),
                               atol=1e-5, rtol=0)


def test_flip_mirrors_left_right():
    torch.testing.assert_close(warp(pattern(), flip=True), pattern().flip(-1), atol=1e-5, rtol=0)


def test_scale_two_enlarges_about_the_centre():
    x = torch.zeros(1, 28, 28)
    x[0, 12:16, 12:16] = 1.0  # a 4×4 square at the centre becomes 8×8
    y = warp(x, scale=2.0)
    assert (y[0, 11:17, 11:17] > 0.99).all() and y.sum().item() == pytest.approx(64, abs=1e-3)  # edges blend


def test_shear_moves_rows_by_tan_times_height():
    # x' = x + tan(shear)·y: with tan = 1, the row 4 px below the centre moves 4 px right.
    x = torch.zeros(1, 28, 28)
    x[0, 18, 10] = 1.0  # pixel-centre y = 18 - 13.5 = +4.5 px below the centre
    y = warp(x, shear=45.0)
    assert y[0, 18].argmax().item() in (14, 15) and y[0, 18].sum().item() == pytest.approx(1, abs=1e-4)


def test_non_square_images_transform_like_a_crop_of_a_square_one():
    # Rows 4:24 of a 28×28 image share its centre; content that stays inside them must agree.
    x = torch.zeros(1, 28, 28)
    x[0, 11:17, 9:20] = torch.linspace(0.2, 1.0, 11)
    kw = dict(angle=30.0, dx=2.0, dy=-1.0, scale=1.1, shear=10.0, flip=True)
    torch.testing.assert_close(warp(x[:, 4:24], **kw), warp(x, **kw)[:, 4:24], atol=1e-5, rtol=0)


def test_base_grid_matches_affine_grid():
    theta = torch.randn(5, 2, 3, generator=torch.Generator().manual_seed(0))
    for h, w in [(28, 28), (20, 28)]:
        ours = (theta.view(-1, 3) @ base_grid(h, w, torch.device("cpu"), torch.float32)).view(5, 2, h, w)
        ref = F.affine_grid(theta, [5, 1, h, w], align_corners=False)
        torch.testing.assert_close(ours.permute(0, 2, 3, 1), ref, atol=1e-6, rtol=1e-5)


def test_parameters_are_drawn_per_sample():
    out = augment_batch(pattern(8), EVERYTHING, torch.Generator().manual_seed(0))
    diffs = (out[1:] - out[0]).abs().flatten(1).amax(1)
    assert (diffs > 0.1).all(), diffs


def test_same_seed_same_output_other_seed_differs():
    a = augment_batch(pattern(4), EVERYTHING, torch.Generator().manual_seed(7))
    b = augment_batch(pattern(4), EVERYTHING, torch.Generator().manual_seed(7))
    c = augment_batch(pattern(4), EVERYTHING, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_output_stays_in_unit_range():
    x = torch.rand(64, 28, 28, generator=torch.Generator().manual_seed(1))
    x[:8] = 1.0  # all-white images are the worst case for interpolation overshoot
    y = augment_batch(x, EVERYTHING, torch.Generator().manual_seed(2))
    assert y.min().item() >= 0.0 and y.max().item() <= 1.0 + 1e-6


def test_elastic_with_zero_alpha_is_identity():
    x = pattern(4)
    assert augment_batch(x, Augment(elastic_alpha=0.0)) is x  # inactive
    y = augment_batch(x, Augment(hflip=True, elastic_alpha=0.0), torch.Generator().manual_seed(0))
    for yi in y:  # with a flip on, each sample is untouched or mirrored, never distorted
        assert torch.allclose(yi, x[0], atol=1e-5) or torch.allclose(yi, x[0].flip(-1), atol=1e-5)
    tiny = augment_batch(x, Augment(elastic_alpha=1e-4), torch.Generator().manual_seed(0))  # the elastic path
    torch.testing.assert_close(tiny, x, atol=1e-3, rtol=0)


def test_elastic_displaces_a_few_pixels():
    x = pattern(16)
    y = augment_batch(x, Augment(elastic_alpha=34, elastic_sigma=4), torch.Generator().manual_seed(0))
    assert not torch.allclose(y, x, atol=0.05)
    assert (y.sum((1, 2)) / x.sum((1, 2)) - 1).abs().mean() < 0.2  # a distortion, not a scramble (mean 0.12)


def test_gaussian_matrix_matches_separable_conv2d():
    sigma, r = 2.0, 8  # radius = 4 sigma
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1.0) / sigma) ** 2)
    k /= k.sum()
    f = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    ref = F.conv2d(F.conv2d(f, k.view(1, 1, 1, -1), padding=(0, r)), k.view(1, 1, -1, 1), padding=(r, 0))
    g = gaussian_matrix(sigma, 28, torch.device("cpu"), torch.float32)
    torch.testing.assert_close(g @ f @ g, ref, atol=1e-6, rtol=1e-5)
    assert gaussian_matrix(sigma, 28, torch.device("cpu"), torch.float32) is g  # cached


def test_small_transforms_roughly_preserve_mass():
    x = pattern(32)
    small = Augment(rotation=10, translate=0.05, shear=5, elastic_alpha=8, elastic_sigma=4)
    y = augment_batch(x, small, torch.Generator().manual_seed(3))
    ratio = y.sum((1, 2)) / x.sum((1, 2))
    assert (ratio - 1).abs().max() < 0.1, ratio


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_shape_dtype_device_preserved(device, dtype):
    x = pattern(5).to(device=device, dtype=dtype)
    y = augment_batch(x, EVERYTHING, torch.Generator(device=device).manual_seed(0))
    assert y.shape == x.shape and y.dtype == dtype and y.device == x.device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cpu_generator_on_cuda_batch_matches_cpu():
    x = pattern(6)
    cpu = augment_batch(x, EVERYTHING, torch.Generator().manual_seed(4))
    gpu = augment_batch(x.cuda(), EVERYTHING, torch.Generator().manual_seed(4))
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=0)


def test_global_rng_when_no_generator():
    torch.manual_seed(5)
    a = augment_batch(pattern(2), AFFINE)
    torch.manual_seed(5)
    assert torch.equal(a, augment_batch(pattern(2), AFFINE))


def test_preview_uint8_and_float_agree():
    img = (pattern()[0] * 255).round().to(torch.uint8)
    p = preview(img, AFFINE, n=6, seed=3)
    assert p.shape == (6, 28, 28) and p.dtype == torch.float32
    torch.testing.assert_close(p, preview(img.float() / 255, AFFINE, n=6, seed=3))
    assert not torch.equal(p[0], p[1])
    torch.testing.assert_close(preview(img, Augment(), n=2, seed=0), (img.float() / 255).expand(2, 28, 28))


def test_non_square_batch_with_every_transform():
    x = torch.rand(3, 20, 28, generator=torch.Generator().manual_seed(6))
    y = augment_batch(x, EVERYTHING, torch.Generator().manual_seed(6))
    assert y.shape == x.shape and not torch.equal(y, x)
    tiny = augment_batch(x, Augment(elastic_alpha=1e-4), torch.Generator().manual_seed(6))
    torch.testing.assert_close(tiny, x, atol=1e-3, rtol=0)


def test_elastic_field_has_the_statistics_of_smoothed_uniform_noise():
    """The low-rank Gaussian draw matches Simard's smoothed U(-1, 1) noise in per-pixel spread and correlation."""
    from mnistlab.data.augment import UNIFORM_VAR, elastic_basis, gaussian_matrix

    gen = torch.Generator().manual_seed(0)
    g = gaussian_matrix(4.0, 28, torch.device("cpu"), torch.float64)
    b = elastic_basis(4.0, 28, torch.device("cpu"), torch.float64)
    assert b.shape[1] < 10  # a handful of directions carry the smoothed field
    simard = g @ (torch.rand(4000, 28, 28, generator=gen, dtype=torch.float64) * 2 - 1) @ g
    ours = b @ (torch.randn(4000, b.shape[1], b.shape[1], generator=gen, dtype=torch.float64) * UNIFORM_VAR ** 0.5) @ b.T
    torch.testing.assert_close(ours.std(0), simard.std(0), rtol=0.06, atol=1e-4)  # per pixel, borders included
    corr = [torch.corrcoef(torch.stack([f[:, 14, 14], f[:, 14, 18]]))[0, 1] for f in (simard, ours)]
    assert abs(corr[0] - corr[1]) < 0.05  # neighbours 4 px apart move together alike

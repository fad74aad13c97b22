"""Batched random augmentation on the device: per-sample affine warps, flips and elastic distortion.

Conventions (pixel coordinates about the image centre, x to the right, y down, as the image is drawn):
- rotation: a positive angle turns the content counter-clockwise on screen, so +90° equals
  `torch.rot90(img, 1, dims=(-2, -1))` (and `numpy.rot90`);
- translation: in pixels, +x moves the content right, +y moves it down;
- scale > 1 enlarges the content; shear is along x (x' = x + tan(shear)·y, as torchvision's
  single-angle shear); a flip mirrors left-right.
The forward map is p_out = R·Sh·S·F·p_in + t (flip first, translation last). Pixels pulled from
outside the image are 0 (black), so augment images in [0, 1] before any mean/std normalisation.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from mnistlab.data.augment_spec import Augment

TRUNCATE = 4.0  # Gaussian kernel radius in sigmas (scipy.ndimage.gaussian_filter's default)


def affine_matrices(angle_deg: torch.Tensor, translate_px: torch.Tensor, scale: torch.Tensor,
                    shear_deg: torch.Tensor, flip: torch.Tensor, size: tuple[int, int] = (28, 28)) -> torch.Tensor:
    """`F.affine_grid` thetas (B, 2, 3) for per-sample forward transforms, see the module docstring.

    Args:
        angle_deg, scale, shear_deg: (B,) per-sample parameters.
        translate_px: (B, 2) shift (dx, dy) in pixels.
        flip: (B,) bool, mirror left-right.
        size: (H, W) of the images, to convert pixels to affine_grid's [-1, 1] units.
    A theta maps output to input locations (the inverse of the forward map), in normalised units
    with align_corners=False.
    """
    h, w = size
    a, k = torch.deg2rad(angle_deg), torch.tan(torch.deg2rad(shear_deg))
    c, s = torch.cos(a), torch.sin(a)
    # Inverse map in pixels: M = F·S⁻¹·Sh⁻¹·R⁻¹, R⁻¹ = [[c, -s], [s, c]], Sh⁻¹ = [[1, -k], [0, 1]].
    f = 1 - 2 * flip.to(c.dtype)  # F = diag(f, 1), f = -1 mirrors
    m = torch.stack([f * (c - k * s), -f * (s + k * c), s, c], dim=-1) / scale[:, None]  # (B, 4)
    m = m.view(-1, 2, 2)
    b = -(m * translate_px[:, None, :]).sum(-1)  # (B, 2): p_in = M (p_out - t)
    if h != w:  # normalised coords are u = 2x/W, v = 2y/H, so the off-diagonals pick up the aspect ratio
        m = m * m.new_tensor([[1.0, h / w], [w / h, 1.0]])
    return torch.cat([m, _per_axis(b, 2 / w, 2 / h)[..., None]], dim=-1)  # (B, 2, 3)


@lru_cache(maxsize=16)
def base_grid(h: int, w: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(3, H·W) rows x, y, 1 of the pixel centres in [-1, 1] units (align_corners=False), as affine_grid uses."""
    ys, xs = [(torch.arange(n, dtype=torch.float64) * 2 + 1) / n - 1 for n in (h, w)]
    grid = torch.stack([xs.expand(h, w), ys[:, None].expand(h, w), torch.ones(h, w, dtype=torch.float64)])
    return grid.view(3, h * w).to(device=device, dtype=dtype)


@lru_cache(maxsize=16)
def gaussian_matrix(sigma: float, n: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(n, n) banded matrix G with G @ f = 1-D Gaussian convolution of f, zero-padded ("same" size).

    The separable 2-D smoothing of a field f (..., H, W) is G_H @ f @ G_W (G is symmetric). On
    28×28 fields with a radius-16 kernel (sigma 4) two small matmuls beat conv2d by ~100x on the CPU.
    """
    radius = int(TRUNCATE * sigma + 0.5)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel /= kernel.sum()  # sums to 1 over the full kernel: zero padding only damps the field near the border
    offset = torch.arange(n)[:, None] - torch.arange(n)[None, :]  # (n, n), i - j
    g = torch.where(offset.abs() <= radius, kernel[(offset + radius).clamp(0, 2 * radius)], 0.0)
    return g.to(device=device, dtype=dtype)


FIELD_ENERGY = 0.9999  # share of the smoothed field's variance the elastic basis keeps
UNIFORM_VAR = 1 / 3  # variance of Simard's U(-1, 1) noise, which the Gaussian draw matches


@lru_cache(maxsize=16)
def elastic_basis(sigma: float, n: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(n, r) B such that B @ M @ B.T, M (r, r) iid N(0, 1), has the distribution of G @ N @ G for iid
    N(0, 1) noise N (n, n), G the Gaussian smoothing: G = Q diag(λ) Qᵀ and Qᵀ N Q is again iid N(0, 1).

    Smoothing with sigma 4 leaves about 7 of 28 directions with any energy, so drawing r×r numbers
    instead of 28×28 (and two thin matmuls) gives the same smoothed field, 10-15× fewer random numbers.
    """
    lam, q = torch.linalg.eigh(gaussian_matrix(sigma, n, torch.device("cpu"), torch.float64))
    order = lam.abs().argsort(descending=True)
    lam, q = lam[order], q[:, order]
    energy = (lam ** 2).cumsum(0) / (lam ** 2).sum()
    r = int((energy < FIELD_ENERGY).sum()) + 1
    return (q[:, :r] * lam[:r]).to(device=device, dtype=dtype)


def _draw(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device,
          normal: bool = False) -> torch.Tensor:
    """Uniform [0, 1) (or standard normal) floats drawn on the generator's device (x's if none), on `device`."""
    draw = torch.randn if normal else torch.rand
    if generator is None:
        return draw(shape, device=device)
    return draw(shape, generator=generator, device=generator.device).to(device)


def _per_axis(v: torch.Tensor, sx: float, sy: float) -> torch.Tensor:
    """v (..., 2) with the x component times sx and y times sy (scalars: no host-to-device copy)."""
    return v * sx if sx == sy else torch.stack([v[..., 0] * sx, v[..., 1] * sy], dim=-1)


@torch.no_grad()
def augment_batch(x: torch.Tensor, aug: Augment, generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply `aug` to a float batch (B, H, W) in [0, 1], with parameters drawn per sample.

    Returns a new tensor of the same shape, dtype and device (x itself when `aug` is inactive).
    Random numbers come from `generator` on its own device and are moved to x's device; a CUDA
    batch should get a CUDA generator (a CPU one works, at the price of a host-to-device copy, and
    gives the same draws as on the CPU). With no generator the device's global RNG is used.
    """
    if not aug.active:
        return x
    assert x.ndim == 3 and x.is_floating_point(), f"expected a float batch (B, H, W), got {x.dtype} {tuple(x.shape)}"
    b, h, w = x.shape
    work = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32  # grid maths needs precision
    u = _draw((b, 6), generator, x.device).to(work)  # one draw for all per-sample parameters
    theta = affine_matrices(
        angle_deg=(2 * u[:, 0] - 1) * aug.rotation,
        translate_px=_per_axis(2 * u[:, 1:3] - 1, aug.translate * w, aug.translate * h),
        scale=aug.scale_min + u[:, 3] * (aug.scale_max - aug.scale_min),
        shear_deg=(2 * u[:, 4] - 1) * aug.shear,
        flip=u[:, 5] < (0.5 if aug.hflip else 0.0),  # all False without hflip
        size=(h, w),
    )
    # affine_grid as one (2B, 3) @ (3, HW) matmul: 3x faster on the CPU than its batched bmm, and
    # (B, 2, H, W) is the elastic field's layout.
    grid = (theta.view(b * 2, 3) @ base_grid(h, w, x.device, work)).view(b, 2, h, w)  # input x, y in [-1, 1]
    if aug.elastic_alpha:
        # Simard et al.: U(-1, 1) noise per pixel, smoothed by a Gaussian (G_H @ noise @ G_W). Drawn here
        # directly as that smoothed field (Gaussian noise of the same variance, see `elastic_basis`).
        bh = elastic_basis(float(aug.elastic_sigma), h, x.device, work)  # (H, rh)
        bw = bh if w == h else elastic_basis(float(aug.elastic_sigma), w, x.device, work)  # (W, rw)
        noise = _draw((b, 2, bh.shape[1], bw.shape[1]), generator, x.device, normal=True).to(work)
        field = bh @ noise.mul_(UNIFORM_VAR ** 0.5) @ bw.T  # (B, 2, H, W): dx, dy
        # In place (grid is ours): fewer 3 MB temporaries at batch 512. alpha·field pixels -> grid units.
        if w == h:
            grid.add_(field, alpha=2 * aug.elastic_alpha / w)
        else:
            grid[:, 0].add_(field[:, 0], alpha=2 * aug.elastic_alpha / w)
            grid[:, 1].add_(field[:, 1], alpha=2 * aug.elastic_alpha / h)
    grid = grid.permute(0, 2, 3, 1)  # (B, H, W, 2) as grid_sample wants; it copes with the strides
    out = F.grid_sample(x[:, None].to(work), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out[:, 0].to(x.dtype)


def preview(image: torch.Tensor, aug: Augment, n: int, seed: int) -> torch.Tensor:
    """`n` random draws of `aug` on one image (H, W), uint8 (0..255) or float in [0, 1]: (n, H, W) float."""
    assert image.ndim == 2, f"expected one image (H, W), got shape {tuple(image.shape)}"
    x = image.float() / 255 if image.dtype == torch.uint8 else image.float()
    batch = x.expand(n, *x.shape).contiguous()
    generator = torch.Generator(device=image.device).manual_seed(seed)
    return augment_batch(batch, aug, generator)

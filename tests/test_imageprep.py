"""MNIST-style preprocessing of user images, and refusal of files that are not safe or usable images."""

import io
import pickle
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnistlab import imageprep
from mnistlab.errors import DataError
from mnistlab.imageprep import mnist_style, prepare_array, prepare_image, read_image

SEVEN = [(60, 50), (240, 50), (130, 330)]  # a "7" drawn as two strokes on a 300×400 page


def drawing(mode="L", ink=255, paper=0, size=(300, 400), width=24, points=SEVEN) -> Image.Image:
    im = Image.new(mode, size, paper)
    ImageDraw.Draw(im).line(points, fill=ink, width=width, joint="curve")
    return im


def png(im: Image.Image, **save) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **save)
    return buf.getvalue()


def ink_box(image: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(image.any(1)), np.flatnonzero(image.any(0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def mass_centre(image: np.ndarray) -> tuple[float, float]:
    w = image.astype(np.float64)
    return (w.sum(1) @ np.arange(28)) / w.sum(), (w.sum(0) @ np.arange(28)) / w.sum()


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """The 7 drawn white on black in grey: what every other rendering of it must become."""
    return prepare_image(png(drawing()), "seven.png").image


def test_black_on_white_rgb_is_inverted_cropped_scaled_and_mass_centred(tmp_path):
    path = tmp_path / "seven.png"
    drawing("RGB", ink=(0, 0, 0), paper=(255, 255, 255)).save(path)
    prepared = prepare_image(path)
    image = prepared.image
    assert prepared.inverted and image.shape == (28, 28) and image.dtype == np.uint8
    assert max(ink_box(image)) == 20 and min(ink_box(image)) >= 10  # longer side 20 px, the 7's aspect kept
    cy, cx = mass_centre(image)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert image.max() == 255 and image[0].max() == image[:, 0].max() == 0  # white ink on a black border
    assert prepared.original.shape == (280, 210)  # shrunk for display, aspect kept


def test_white_on_black_grey_gives_the_same_image_uninverted(reference):
    prepared = prepare_image(png(drawing("L", ink=230, paper=20)), "seven.png")
    assert not prepared.inverted
    assert np.abs(prepared.image.astype(int) - reference).max() <= 2  # contrast is stretched to full range
    np.testing.assert_array_equal(prepare_image(io.BytesIO(png(drawing()))).image, reference)  # an upload


def test_transparent_canvas_strokes_of_any_colour_become_ink(reference):
    for colour in ((255, 0, 0, 255), (0, 0, 0, 255), (255, 255, 255, 255)):
        canvas = drawing("RGBA", ink=colour, paper=(0, 0, 0, 0))
        from_array = prepare_array(np.asarray(canvas))  # what streamlit-drawable-canvas returns
        from_file = prepare_image(png(canvas), "canvas.png")
        assert not from_array.inverted
        np.testing.assert_array_equal(from_array.image, reference)
        np.testing.assert_array_equal(from_file.image, reference)


def test_grey_arrays_uint8_or_float_are_accepted(reference):
    grey = np.asarray(drawing())
    np.testing.assert_array_equal(prepare_array(grey).image, reference)
    np.testing.assert_array_equal(prepare_array(grey / 255.0).image, reference)
    np.testing.assert_array_equal(mnist_style(grey), reference)


@pytest.mark.parametrize("convert", [
    lambda im: im.convert("RGB").convert("CMYK"),
    lambda im: Image.fromarray(np.asarray(im).astype(np.uint16) * 257),  # 16-bit grey (I;16)
    lambda im: im.convert("P"),
    lambda im: im.convert("LA"),
    lambda im: im.convert("1"),
])
def test_other_colour_modes_give_the_same_image(convert, reference):
    im = convert(drawing())
    buf = io.BytesIO()
    im.save(buf, "TIFF" if im.mode == "CMYK" else "PNG")
    np.testing.assert_array_equal(prepare_image(buf.getvalue(), "mode.img").image, reference)


def test_palette_gif_with_a_transparent_background_and_only_its_first_frame(reference):
    first = drawing("P", ink=1, paper=0)
    first.putpalette([0, 0, 0, 30, 30, 200] + [0] * 762)
    second = Image.new("P", first.size, 1)  # a solid frame that would be "ink" everywhere
    second.putpalette(first.getpalette())
    buf = io.BytesIO()
    first.save(buf, "GIF", save_all=True, append_images=[second], transparency=0, duration=100)
    np.testing.assert_array_equal(prepare_image(buf.getvalue(), "anim.gif").image, reference)


def test_a_photo_stored_sideways_is_turned_upright_by_its_exif_orientation(reference):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    sideways = drawing().transpose(Image.Transpose.ROTATE_90)
    np.testing.assert_array_equal(prepare_image(png(sideways, exif=exif), "photo.png").image, reference)


def test_a_wide_image_keeps_its_aspect_ratio():
    im = Image.new("L", (900, 300), 255)
    ImageDraw.Draw(im).rectangle((100, 100, 599, 199), fill=0)  # 500×100 ink: 5 to 1
    image = prepare_image(png(im), "wide.png").image
    assert ink_box(image) == (4, 20)


def test_centring_is_by_mass_not_by_box():
    im = Image.new("L", (400, 400), 0)
    ImageDraw.Draw(im).rectangle((50, 50, 349, 89), fill=255)  # a T: a heavy bar on top...
    ImageDraw.Draw(im).rectangle((150, 90, 249, 349), fill=255)  # ...on a centred stem
    image = prepare_image(png(im), "tee.png").image
    cy, cx = mass_centre(image)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert np.flatnonzero(image.any(1))[0] == 6  # box-centred would start at row 4: shifted down to the mass


def test_a_lopsided_shape_is_shifted_only_as_far_as_the_canvas_allows():
    im = Image.new("L", (400, 400), 0)
    ImageDraw.Draw(im).rectangle((50, 50, 349, 109), fill=255)  # an upside-down L: its mass is near the top
    ImageDraw.Draw(im).rectangle((50, 50, 79, 349), fill=255)
    image = prepare_image(png(im), "corner.png").image
    rows = np.flatnonzero(image.any(1))
    assert rows[-1] == 27 and len(rows) == 20  # pushed down to the edge, nothing cut off
    assert mass_centre(image)[0] < 13  # short of the centre: moving further would cut the stem


def test_a_thin_pen_stroke_on_a_big_photo_stays_visible(monkeypatch):
    photo = drawing("L", ink=40, paper=210, size=(2400, 3200), width=4,
                    points=[(480, 400), (1920, 400), (1040, 2640)])
    thin = prepare_image(png(photo), "pen.png").image
    assert (thin > 128).sum() >= 40  # about 2 px wide along ~40 px of strokes
    monkeypatch.setattr(imageprep, "THIN_PX", 0.0)  # without widening the strokes fade to a faint line
    assert (prepare_image(png(photo), "pen.png").image > 128).sum() < 30


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height (1-bit grey) with a single tiny data chunk: cheap to make."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("content, reason", [
    (b"hello, this is a text file\n", "is not an image file"),
    (b"", "is empty"),
    (pickle.dumps({"weights": [0.5] * 100}), "is not an image file"),  # a pickle renamed .png
    (png(drawing())[:600], "is damaged or truncated"),
    (png_header(5000, 5000), "is 5000×5000 pixels; the limit is 4096×4096: resize it first"),
    (png_header(20000, 20000), "has 400,000,000 pixels; the limit is 4096×4096"),  # past Pillow's bomb limit
    (png(Image.new("RGB", (64, 64), (250, 250, 250))), "has no drawing/ink in it"),
    (png(drawing("RGBA", ink=(0, 0, 0, 0), paper=(0, 0, 0, 0))), "has no drawing/ink in it"),
])
def test_unusable_files_are_refused_with_their_name_and_reason(tmp_path, content, reason):
    path = tmp_path / "upload.png"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        prepare_image(path)
    assert str(path) in str(caught.value) and reason in str(caught.value)


@pytest.mark.parametrize("limit", [1000, 3000])  # 64×64 is over twice the limit (an error) or once (a warning)
def test_pillows_decompression_bomb_error_and_warning_become_our_message(monkeypatch, limit):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    with pytest.raises(DataError, match="has 4,096 pixels; the limit is 4096×4096: resize it first"):
        read_image(png(drawing(size=(64, 64))), "bomb.png")


def test_files_over_the_byte_limit_are_not_read(tmp_path):
    big = tmp_path / "huge.png"
    with open(big, "wb") as f:
        f.truncate(imageprep.MAX_IMAGE_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(DataError, match="huge.png is 10.0 MB; the limit is 10 MB"):
        read_image(big)
    with pytest.raises(DataError, match="bytes.png is larger than 10 MB"):
        read_image(bytes(imageprep.MAX_IMAGE_BYTES + 1), "bytes.png")
    with pytest.raises(DataError, match="missing.png not found"):
        read_image(tmp_path / "missing.png")


@pytest.mark.parametrize("array, reason", [
    (np.zeros((5, 5, 2), np.uint8), "has shape (5, 5, 2)"),
    (np.zeros((0, 5), np.uint8), "has shape (0, 5)"),
    (np.full((5, 5), np.nan), "NaN or infinite"),
    (np.zeros((5000, 10), np.uint8), "is 10×5000 pixels"),
    (np.zeros((40, 40, 4), np.uint8), "has no drawing/ink in it"),  # an empty canvas
])
def test_bad_arrays_are_refused(array, reason):
    with pytest.raises(DataError, match="the drawing") as caught:
        prepare_array(array)
    assert reason in str(caught.value)


@pytest.mark.integration
def test_real_mnist_digits_survive_a_round_trip_through_a_black_on_white_png(real_data_dir):
    from mnistlab.data.load import load_split

    digits = load_split("mnist", "test", real_data_dir).images[:10].numpy()
    for digit in digits:
        page = Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BICUBIC)  # ×10, ink on paper
        prepared = prepare_image(png(page), "digit.png")
        assert prepared.inverted
        correlation = np.corrcoef(prepared.image.ravel().astype(float), digit.ravel().astype(float))[0, 1]
        assert correlation > 0.8


def test_clothes_style_trims_to_28_px_centred_by_its_box():
    """Fashion-MNIST's steps: a dark garment on white paper fills 28 px on its longer side, centred."""
    from mnistlab.imageprep import prepare_array, style_for

    photo = np.full((300, 200), 240, np.uint8)
    photo[50:250, 60:160] = 40  # a 200×100 dark garment
    photo[50:250, 100:120] = 120  # with a lighter seam: textures are kept, not thresholded away
    prepared = prepare_array(photo, "shirt.png", style_for("fashion-mnist"))
    rows, cols = np.flatnonzero(prepared.image.any(1)), np.flatnonzero(prepared.image.any(0))
    assert prepared.inverted and (rows[0], rows[-1]) == (0, 27)
    assert abs((cols[0] + cols[-1]) / 2 - 13.5) <= 1 and 12 <= cols[-1] - cols[0] + 1 <= 16
    middle = prepared.image[14, cols[0] + 1:cols[-1]]
    assert middle.min() < 200 < middle.max()  # the seam is still there
    assert style_for("mnist") == "digits"

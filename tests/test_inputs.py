"""Every kind of image a user may drop, and plots that are empty or too long."""
import io

import numpy as np
import pytest
from PIL import Image

from genre_models.data.inputs import InvalidImageError, clean_plot, load_poster
from genre_models.errors import InvalidInputError


def _save(image, tmp_path, name, **kw):
    path = tmp_path / name
    image.save(path, **kw)
    return path


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), "red")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees when shown
    path = _save(image, tmp_path, "rotated.jpg", exif=exif)
    assert load_poster(path).size == (20, 40)


def test_palette_with_transparency_goes_on_white(tmp_path):
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0] * 256)
    path = _save(image, tmp_path, "palette.png", transparency=0)
    out = load_poster(path)
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (255, 255, 255)


def test_rgba_is_composited_on_white(tmp_path):
    image = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    out = load_poster(_save(image, tmp_path, "clear.png"))
    assert out.getpixel((1, 1)) == (255, 255, 255)


def test_cmyk_greyscale_and_16_bit(tmp_path):
    cmyk = load_poster(_save(Image.new("CMYK", (4, 4), (0, 255, 255, 0)), tmp_path, "c.jpg"))
    assert cmyk.mode == "RGB" and cmyk.getpixel((0, 0))[0] > 200
    grey = load_poster(_save(Image.new("L", (4, 4), 128), tmp_path, "g.png"))
    assert grey.mode == "RGB" and grey.getpixel((0, 0)) == (128, 128, 128)
    deep = Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16))
    out = load_poster(_save(deep, tmp_path, "deep.png"))
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (255, 255, 255)


def test_first_frame_of_an_animation(tmp_path):
    frames = [Image.new("RGB", (6, 6), c) for c in ("red", "blue")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    r, g, b = load_poster(path).getpixel((2, 2))
    assert r > 200 and b < 50


def test_arrays_and_bytes(tmp_path):
    assert load_poster(np.zeros((5, 7, 4), dtype=np.uint8)).size == (7, 5)
    assert load_poster(np.ones((5, 7), dtype=np.float32)).getpixel((0, 0)) == (255, 255, 255)
    buffer = io.BytesIO()
    Image.new("RGB", (3, 3)).save(buffer, format="PNG")
    assert load_poster(buffer.getvalue()).size == (3, 3)
    assert load_poster(None) is None


def test_decompression_bomb_is_refused(tmp_path):
    path = _save(Image.new("L", (2000, 2000)), tmp_path, "big.png")
    with pytest.raises(InvalidImageError, match="over the limit"):
        load_poster(path, max_pixels=1_000_000)


@pytest.mark.parametrize("content,match", [(b"hello, I am text", "not an image"), (b"", "empty")])
def test_not_an_image(tmp_path, content, match):
    path = tmp_path / "poster.jpg"
    path.write_bytes(content)
    with pytest.raises(InvalidImageError, match=match):
        load_poster(path)


def test_truncated_jpeg(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(buffer, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[:200])
    with pytest.raises(InvalidImageError):
        load_poster(path)


def test_missing_file():
    with pytest.raises(InvalidImageError, match="not found"):
        load_poster("/nonexistent/poster.jpg")


def test_plot_cleaning():
    assert clean_plot("  \n\t ").text is None
    assert clean_plot(None).present is False
    assert clean_plot(" A  ghost\nstory ").text == "A ghost story"


def test_huge_declared_size_is_refused_before_decoding(tmp_path):
    import struct
    import zlib
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    ihdr = data[12:29]  # chunk type + 13 bytes of header data
    ihdr[4:12] = struct.pack(">II", 20_000, 20_000)  # claims 400 megapixels
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    path = tmp_path / "bomb.png"
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidImageError, match="too large|over the limit"):
        load_poster(path)


@pytest.mark.parametrize("array,pixel", [
    (np.array([[[10, 20, 30]]], dtype=np.uint8), (10, 20, 30)),            # uint8 RGB as is
    (np.array([[32896, 65535]], dtype=np.uint16), (128, 128, 128)),         # 16-bit grey scaled to 8
    (np.array([[[0.5, 1.0, 0.0]]], dtype=np.float32), (127, 255, 0)),      # floats in [0, 1]
    (np.array([[[128.0, 255.0, 3.0]]], dtype=np.float64), (128, 255, 3)),  # floats in [0, 255]
    (np.array([[[32896.0, 65535.0, 0.0]]]), (128, 255, 0)),                 # floats in [0, 65535]
    (np.array([[[0.25, 0.0, 0.0]]], dtype=np.float16), (63, 0, 0)),        # half floats in [0, 1]
    (np.array([[np.nan, 2.0]], dtype=np.float32), (0, 0, 0)),               # NaN -> 0
    (np.array([[[7], [9]]], dtype=np.uint8), (7, 7, 7)),                    # one channel -> grey
    (np.array([[[200, 100, 50, 0]]], dtype=np.uint8), (255, 255, 255)),     # transparent -> white
    (np.array([[-5, 300]], dtype=np.int32), (0, 0, 0)),                     # clipped into range
    (np.array([[32768, 0]], dtype=np.uint16), (127, 127, 127)),             # 16-bit: x * 255 / 65535
    (np.array([[256.0, 0.0]]), (0, 0, 0)),                                  # above 255: a 16-bit range
    (np.array([[2.0, 0.0]]), (2, 2, 2)),                                    # above 1: an 8-bit range
    (np.array([[-100.0, 200.0]]), (0, 0, 0)),                               # negatives clip to black
    (np.array([[1e6, 0.0]]), (255, 255, 255)),                              # past 65535: white, no wrap
    (np.array([[65792, 0]], dtype=np.int32), (255, 255, 255)),              # 256 after scaling: still white
])
def test_arrays_of_every_kind_become_the_right_rgb(array, pixel):
    image = load_poster(array)
    assert image.mode == "RGB" and image.size == (array.shape[1], array.shape[0])
    assert image.getpixel((0, 0)) == pixel


@pytest.mark.parametrize("array,match", [(np.zeros((2, 2, 2), np.uint8), "1, 3 or 4 colour channels, got 2"),
                                         (np.zeros((2,), np.uint8), "HxW or HxWxC"),
                                         (np.zeros((0, 3), np.uint8), "HxW or HxWxC"),
                                         (np.zeros((2, 2, 3, 1), np.uint8), "HxW or HxWxC")])
def test_arrays_of_the_wrong_shape_are_refused(array, match):
    with pytest.raises(InvalidImageError, match=match):
        load_poster(array)


def test_huge_arrays_are_refused(monkeypatch):
    import genre_models.data.inputs as inputs
    monkeypatch.setattr(inputs, "MAX_PIXELS", 99)
    with pytest.raises(InvalidImageError, match="over the limit of 99 pixels"):
        load_poster(np.zeros((10, 10, 3), np.uint8))
    assert load_poster(np.zeros((9, 11, 3), np.uint8)).size == (11, 9)


def test_a_plot_that_is_not_text_is_named():
    from genre_models import InvalidInputError
    with pytest.raises(InvalidInputError, match="^the plot must be text, got int$"):
        clean_plot(42)


def test_plot_limits_and_broken_text():
    from genre_models.data.inputs import MAX_PLOT_CHARS, check_threshold, clean_plot
    assert clean_plot("a ghost \ud800 story").text == "a ghost \ufffd story"  # a broken paste still reads
    assert clean_plot("x" * MAX_PLOT_CHARS).text == "x" * MAX_PLOT_CHARS
    with pytest.raises(InvalidInputError, match=f"{MAX_PLOT_CHARS + 1:,} characters; the limit is {MAX_PLOT_CHARS:,}"):
        clean_plot("x" * (MAX_PLOT_CHARS + 1))
    assert check_threshold(None) is None and check_threshold(0) == 0.0 and check_threshold(1) == 1.0
    for bad in (-0.01, 1.01, float("nan"), float("inf"), "0.5", True):
        with pytest.raises(InvalidInputError, match="threshold must be"):
            check_threshold(bad)


def test_surrogate_plot_reaches_the_model(tiny_models):
    from genre_models import ModelPool
    assert ModelPool().get("tiny-bert").predict(plot="a ghost \ud800 haunted the house").ok


def test_a_decompression_bomb_gets_the_apps_limit_not_pils_words(tmp_path):
    from genre_models.data.inputs import MAX_PIXELS
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(bomb)  # 400 megapixels in a small file: PIL refuses to open it
    with pytest.raises(InvalidImageError) as refused:
        load_poster(bomb)
    assert str(refused.value) == f"'bomb.png' is over the limit of {MAX_PIXELS:,} pixels; please use a smaller image"
    assert "DOS" not in str(refused.value)


def _refusal(source, **kw):
    with pytest.raises(InvalidImageError) as refused:
        load_poster(source, **kw)
    return str(refused.value)


def test_each_refusal_is_the_whole_plain_sentence(tmp_path):
    """The messages users read, word for word (a test that matches a fragment lets them rot)."""
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_bytes(b"hello, I am text")
    assert _refusal(tmp_path / "missing.jpg") == "poster file not found: 'missing.jpg'"  # its name, not its folder
    assert _refusal(tmp_path) == f"poster file not found: '{tmp_path.name}'"
    assert _refusal(tmp_path / "empty.jpg") == "'empty.jpg' is empty (0 bytes)"
    assert _refusal(tmp_path / "text.jpg") == (
        "'text.jpg' is not an image PIL can read (expected JPEG, PNG, WebP, GIF, BMP or TIFF)")
    assert _refusal(b"hello, I am text") == (
        "the uploaded data is not an image PIL can read (expected JPEG, PNG, WebP, GIF, BMP or TIFF)")
    big = _save(Image.new("L", (2000, 600)), tmp_path, "big.png")
    assert _refusal(big, max_pixels=1_000_000) == (
        "the poster is 2000x600 pixels, over the limit of 1,000,000 pixels; please use a smaller image")
    assert _refusal(Image.new("RGB", (0, 5))) == "the poster has no pixels"
    assert _refusal(np.zeros((2, 2, 2), np.uint8)) == "expected 1, 3 or 4 colour channels, got 2"
    assert _refusal(np.zeros((2,), np.uint8)) == "expected an image array of shape HxW or HxWxC, got (2,)"


def test_a_truncated_file_is_named_and_said_damaged(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(buffer, format="PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[:60])
    message = _refusal(path)
    assert message.startswith("'cut.png' is damaged or truncated (") and message.endswith(")")
    assert _refusal(buffer.getvalue()[:60]).startswith("the uploaded data is damaged or truncated (")


def test_threshold_refusals_say_the_range_and_echo_the_value():
    from genre_models.data.inputs import check_threshold
    with pytest.raises(InvalidInputError) as refused:
        check_threshold("0.5")
    assert str(refused.value) == "the threshold must be a number from 0 to 1 (or none), got '0.5'"
    with pytest.raises(InvalidInputError) as refused:
        check_threshold(1.5)
    assert str(refused.value) == "the threshold must be from 0 to 1, got 1.5"
    assert check_threshold(0.25) == 0.25 and type(check_threshold(1)) is float


@pytest.mark.parametrize("mode,value,pixel", [
    ("LA", (100, 255), (100, 100, 100)),        # grey with alpha: opaque grey stays grey
    ("LA", (100, 0), (255, 255, 255)),          # transparent grey goes on white
    ("PA", None, (255, 255, 255)),              # palette with alpha channel, transparent
    ("I", 40000, (155, 155, 155)),              # 32-bit ints read as a 16-bit range
    ("F", 0.5, (127, 127, 127)),                # floats in [0, 1]
    ("I;16", 65535, (255, 255, 255)),           # 16-bit grey
    ("RGBa", (10, 20, 30, 255), (10, 20, 30)),  # premultiplied alpha, opaque
    ("HSV", (0, 0, 255), (255, 255, 255)),      # any other mode through PIL's own conversion
])
def test_every_pil_mode_becomes_rgb(mode, value, pixel):
    image = Image.new(mode, (2, 1), value) if value is not None else Image.new(mode, (2, 1))
    out = load_poster(image)
    assert out.mode == "RGB" and out.size == (2, 1)
    assert out.getpixel((0, 0)) == pixel


def test_an_rgb_image_is_returned_as_is():
    image = Image.new("RGB", (3, 2), (1, 2, 3))
    assert load_poster(image).tobytes() == image.tobytes()


# -- issue 26: work bounded by what the model sees; vector formats; invisible text --------------------

def _png(path, size):
    Image.new("L", size).save(path)  # a constant image compresses to a few kilobytes even at 40000 px
    return path


@pytest.mark.parametrize("size", [(40000, 2), (2, 40000), (2100, 100)])
def test_an_extreme_aspect_ratio_is_refused_from_its_header(tmp_path, size):
    with pytest.raises(InvalidImageError, match=r":1; posters up to 20:1 are read"):
        load_poster(_png(tmp_path / "strip.png", size))
    with pytest.raises(InvalidImageError, match="up to 20:1"):  # arrays and PIL images too
        load_poster(np.zeros(size[::-1], dtype=np.uint8))
    assert load_poster(Image.new("RGB", (2000, 100))).size == (2000, 100)  # 20:1 is read


def test_no_poster_model_transform_ever_sees_an_extreme_strip(tiny_models, tmp_path):
    """The CNN's, the CLIPs' and fusion's transforms (resize the short side first) and Grad-CAM's: a
    40000x2 strip would be a 224 x 4.5-million-pixel image in them; they must never be handed it."""
    from genre_models import ModelPool
    from genre_models.explain import explain_poster
    pool = ModelPool()
    seen = []
    for key in ("tiny-bit", "tiny-clip-vit", "tiny-clip-rn"):
        encoder = pool.get(key).encoder_for(False)
        transform = encoder.preprocess
        encoder.preprocess = lambda image, transform=transform: seen.append(image.size) or transform(image)
    strip = _png(tmp_path / "strip.png", (40000, 2))
    answers = pool.predict(["tiny-bit", "tiny-clip-vit", "tiny-clip-rn", "tiny-fusion"], strip, "a ghost story",
                           mode="zero-shot")
    assert {k: a.status.value for k, a in answers.items()} == {k: "invalid_input" for k in answers}
    assert all("20:1" in a.message for a in answers.values())
    with pytest.raises(InvalidImageError, match="20:1"):
        explain_poster(pool.get("tiny-clip-vit"), strip, mode="zero-shot")
    assert seen == []
    pool.predict(["tiny-clip-vit"], Image.new("RGB", (400, 20)), mode="zero-shot")
    assert seen == [(400, 20)]  # the limit is no wider than it needs to be


@pytest.mark.parametrize("fmt, kind", [("EPS", "EPS"), ("PDF", "PDF")])
def test_vector_formats_are_refused_by_their_bytes_before_pillow_draws_them(tmp_path, fmt, kind, monkeypatch):
    from PIL import EpsImagePlugin
    def no_ghostscript(*args, **kwargs):
        raise AssertionError("Pillow ran Ghostscript")
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no_ghostscript)
    path = tmp_path / "poster.png"  # the name says PNG; the bytes say otherwise
    Image.new("RGB", (20, 30), "red").save(path, format=fmt)
    for source in (path, path.read_bytes()):
        with pytest.raises(InvalidImageError, match=f"is {kind}, a vector format .*; upload JPEG, PNG, WebP"):
            load_poster(source)


@pytest.mark.parametrize("text", ['<svg xmlns="http://www.w3.org/2000/svg"/>',
                                  '\ufeff<?xml version="1.0"?>\n<!-- made by hand -->\n<svg width="2"></svg>'])
def test_svg_is_called_a_vector_format(tmp_path, text):
    path = tmp_path / "poster.jpg"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidImageError, match="is SVG, a vector format"):
        load_poster(path)


@pytest.mark.parametrize("plot", ["\u200b", "\ufeff", "\u2060\u200b \u200d", " \u00ad\t\u180e\u3164 ", "\ufe0f"])
def test_a_plot_of_invisible_characters_is_no_plot(plot):
    assert clean_plot(plot).text is None


def test_invisible_characters_do_not_split_words_and_text_is_nfc():
    assert clean_plot("\ufeffhor\u200bror in the ho\u0301tel").text == "horror in the h\u00f3tel"
    assert clean_plot("\U0001F9D9\u200d\u2642\ufe0f wizard").text == "\U0001F9D9\u200d\u2642\ufe0f wizard"


# -- issue 33: only the formats the README lists, only the first frame, the size checked before decoding ----

def _tiff(pages: int, second_page_at: int | None = None) -> bytes:
    """A little-endian TIFF of ``pages`` one-pixel grey pages, built tag by tag; ``second_page_at``: where the
    first page says the next one is (past the end of the file: a broken page 2)."""
    import struct
    out = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for page in range(pages):
        pixel = len(out) + 2 + 8 * 12 + 4
        following = (second_page_at if page == 0 and second_page_at is not None else
                     pixel + 2 if page + 1 < pages else 0)
        tags = [(256, 3, 1), (257, 3, 1), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, pixel), (278, 3, 1),
                (279, 4, 1)]  # width, height, bits, no compression, grey, strip offset, rows per strip, strip bytes
        out += struct.pack("<H", len(tags))
        for tag, kind, value in tags:
            out += struct.pack("<HHI", tag, kind, 1) + struct.pack("<HH" if kind == 3 else "<I",
                                                                   *((value, 0) if kind == 3 else (value,)))
        out += struct.pack("<I", following) + b"\x80\x00"
    return bytes(out)


def test_only_the_first_page_of_a_tiff_is_read(tmp_path):
    broken_rest = _tiff(2, second_page_at=0x7FFFFFF0)  # page 2 is past the end: never looked at
    assert load_poster(broken_rest).getpixel((0, 0)) == (128, 128, 128)
    many = tmp_path / "pages.tiff"
    many.write_bytes(_tiff(20_000))  # counting them parses every page: seconds (90,000 pages: a minute)
    import time
    started = time.perf_counter()
    assert load_poster(many).size == (1, 1)
    assert time.perf_counter() - started < 2


def _ico(inner: bytes, listed=(16, 16)) -> bytes:
    """An .ico whose directory lists one ``listed`` image and holds ``inner`` (a PNG of any size)."""
    import struct
    return (struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", *listed, 0, 0, 1, 32, len(inner), 22)
            + inner)


def _png_bytes(size, mode="RGBA") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_ico_is_refused_by_its_format_before_its_image_is_decoded(tmp_path):
    import warnings
    path = tmp_path / "poster.ico"
    path.write_bytes(_ico(_png_bytes((64, 64))))  # says 16x16; Pillow decodes the 64x64 PNG while *opening* an ico
    for source, name in ((path, "'poster.ico'"), (path.read_bytes(), "the uploaded data")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert _refusal(source) == (f"{name} is ICO, an image format GenreLens does not read; "
                                        "upload JPEG, PNG, WebP, GIF, BMP or TIFF")
        assert not [w for w in caught if "expected size" in str(w.message)]  # Pillow's words once it decoded


@pytest.mark.parametrize("fmt, suffix", [("ICNS", "icns"), ("TGA", "tga"), ("PCX", "pcx"), ("PPM", "ppm")])
def test_formats_the_readme_does_not_list_are_refused_by_name(tmp_path, fmt, suffix):
    path = _save(Image.new("RGB", (16, 16), "red"), tmp_path, f"poster.{suffix}", format=fmt)
    assert _refusal(path) == (f"'poster.{suffix}' is {fmt}, an image format GenreLens does not read; "
                              "upload JPEG, PNG, WebP, GIF, BMP or TIFF")
    renamed = path.rename(tmp_path / "poster.png")  # the bytes decide, not the name
    assert _refusal(renamed).endswith(
        "an image format GenreLens does not read; upload JPEG, PNG, WebP, GIF, BMP or TIFF")


def test_a_listed_format_with_a_broken_header_is_said_damaged_not_foreign(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, format="JPEG")
    assert _refusal(buffer.getvalue()[:20]) == "the uploaded data is damaged or truncated (its header cannot be read)"


def _gif(screen, frame) -> bytes:
    """A GIF whose logical screen is ``screen`` and whose first frame is ``frame`` (width, height)."""
    import struct
    return (b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
            + b"," + struct.pack("<HHHHB", 0, 0, *frame, 0) + b"\x02\x02\x4c\x01\x00;")


def test_the_size_checked_is_the_first_frames_not_the_containers():
    # the screen says 10x10; the frame decoded would be 10000x6000 (60 megapixels)
    assert _refusal(_gif((10, 10), (10_000, 6_000))) == (
        "the poster is 10000x6000 pixels, over the limit of 50,000,000 pixels; please use a smaller image")


def test_pillows_own_limit_is_the_apps_for_every_caller():
    from genre_models.data.inputs import MAX_PIXELS
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS
    # 108 megapixels behind a 10x10 screen: past twice the app's limit, Pillow itself refuses to open it, so
    # code that opens an upload without load_poster (gradio) never decodes it (Pillow's default allows 179)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(_gif((10, 10), (12_000, 9_000))))


def test_a_pil_image_opened_elsewhere_is_read_if_its_format_is_listed(tmp_path):
    png = _save(Image.new("RGB", (10, 10), "red"), tmp_path, "poster.png")
    assert load_poster(Image.open(png)).getpixel((5, 5)) == (255, 0, 0)
    ico = tmp_path / "poster.ico"
    ico.write_bytes(_ico(_png_bytes((16, 16))))
    assert _refusal(Image.open(ico)) == ("the poster is ICO, an image format GenreLens does not read; "
                                         "upload JPEG, PNG, WebP, GIF, BMP or TIFF")


def test_the_pages_poster_upload_is_handed_on_undecoded(tmp_path):
    """The page's poster input (app.PosterImage) gives load_poster the uploaded file without opening it
    first: gradio's own preprocessing calls PIL.Image.open with every format, and an .ico decodes there."""
    import warnings
    import app
    path = tmp_path / "poster.ico"
    path.write_bytes(_ico(_png_bytes((64, 64))))
    upload = app.ImageData(path=str(path), orig_name="poster.ico")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert app.PosterImage(type="filepath", image_mode=None).preprocess(upload) == str(path)
    assert not [w for w in caught if "expected size" in str(w.message)]

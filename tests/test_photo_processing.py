"""Photo processing over real images made here: upright, stripped, resized, hashed; bad input refused."""

import io
import random
import struct

import pytest
from PIL import ExifTags, Image

from server.photos.processing import DISPLAY_EDGE, MAX_PIXELS, THUMB_EDGE, PhotoRefused, decode, distance, process


def scene(width: int, height: int, seed: int = 1) -> Image.Image:
    """A picture with structure (blocks of colour) and a red marker in the stored top-left corner."""
    rnd = random.Random(seed)
    image = Image.new("RGB", (width, height), (40, 90, 160))
    step = max(width, height) // 12
    for x in range(0, width, step):
        for y in range(0, height, step):
            image.paste((rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)), (x, y, x + step, y + step))
    image.paste((255, 0, 0), (0, 0, width // 8, height // 8))
    return image


def phone_jpeg(width=4000, height=3000, orientation=6, seed=1, quality=90) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Google"
    exif[ExifTags.Base.Model] = "Pixel 8"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:03:01 10:15:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 36.0)  # 51.51
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 12.0)  # -0.12
    out = io.BytesIO()
    scene(width, height, seed).save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def test_a_phone_photo_comes_out_upright_stripped_and_resized():
    photo = process(phone_jpeg())
    # stored 4000 x 3000 with orientation 6 (turn 90 degrees clockwise to view): upright it is 3000 x 4000
    assert (photo.width, photo.height) == (1200, 1600)
    shown = Image.open(io.BytesIO(photo.display))
    assert shown.format == "JPEG" and shown.size == (1200, 1600)
    red = shown.getpixel((1200 - 20, 20))  # the stored top-left corner is now top-right
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    assert dict(shown.getexif()) == {}
    assert b"Exif" not in photo.display and b"Pixel 8" not in photo.display and b"Exif" not in photo.thumb
    thumb = Image.open(io.BytesIO(photo.thumb))
    assert max(thumb.size) <= THUMB_EDGE and thumb.size == (240, 320)


def test_what_is_kept_as_data():
    photo = process(phone_jpeg())
    assert photo.lat == pytest.approx(51.51) and photo.lng == pytest.approx(-0.12)
    assert photo.camera == "Google Pixel 8"
    assert photo.taken_at == "2026:03:01 10:15:00"
    assert len(photo.sha256) == 64 and len(photo.phash) == 16


def test_small_pngs_and_webps_with_transparency():
    for fmt in ("PNG", "WEBP"):
        image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
        image.paste((0, 128, 0, 255), (0, 0, 100, 100))
        out = io.BytesIO()
        image.save(out, fmt)
        photo = process(out.getvalue())
        shown = Image.open(io.BytesIO(photo.display))
        assert shown.size == (200, 100)  # never enlarged
        assert shown.getpixel((150, 50))[0] > 240  # transparent became white, not black


def test_a_transparent_png_is_turned_upright_too():
    image = Image.new("RGBA", (40, 20), (0, 0, 255, 255))
    image.paste((255, 0, 0, 255), (0, 0, 10, 10))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    out = io.BytesIO()
    image.save(out, "PNG", exif=exif)
    shown = Image.open(io.BytesIO(process(out.getvalue()).display))
    assert shown.size == (20, 40)
    assert shown.getpixel((17, 2))[0] > 200  # the red corner turned to the top-right


def test_the_same_picture_hashes_near_and_another_far():
    first = process(phone_jpeg(2000, 1500, seed=3, quality=92))
    again = process(phone_jpeg(2000, 1500, seed=3, quality=60))
    other = process(phone_jpeg(2000, 1500, seed=4))
    assert distance(first.phash, again.phash) <= 5
    assert distance(first.phash, other.phash) > 12


@pytest.mark.parametrize(
    "make, status, words",
    [
        (lambda: b"", 400, "empty"),
        (lambda: b"just some text, not a picture", 415, "not a JPEG, PNG or WebP"),
        (lambda: phone_jpeg(800, 600)[:5000], 422, "damaged or cut short"),
        (lambda: _saved(Image.new("RGB", (64, 64)), "TIFF"), 415, "not a JPEG, PNG or WebP"),
        (lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", 415, "not a JPEG, PNG or WebP"),
        (lambda: phone_jpeg(800, 600) + b"<html><script>alert(1)</script></html>", 415, "markup"),
        (lambda: _jpeg_with_comment(b"<script>fetch('/api/me')</script>"), 415, "markup"),
        (lambda: _png_bomb(), 413, "megapixels"),
    ],
    ids=["empty", "text", "truncated-jpeg", "tiff-renamed", "eps-renamed", "html-after-jpeg", "script-in-comment", "png-bomb"],
)
def test_bad_input_is_refused_with_a_reason(make, status, words):
    with pytest.raises(PhotoRefused) as refused:
        process(make())
    assert refused.value.status == status
    assert words in refused.value.message


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _jpeg_with_comment(comment: bytes) -> bytes:
    jpeg = _saved(scene(200, 150), "JPEG")
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment  # a COM segment after SOI
    return jpeg[:2] + segment + jpeg[2:]


def _png_bomb() -> bytes:
    """A small file that would decode to far more pixels than accepted."""
    side = int((MAX_PIXELS * 2) ** 0.5)
    data = _saved(Image.new("1", (side, side)), "PNG")
    assert len(data) < 2_000_000
    return data


def test_a_large_jpeg_is_decoded_at_reduced_scale():
    data = phone_jpeg(4000, 3000, orientation=1)
    image, orientation, facts = decode(data)
    assert image.size == (2000, 1500)  # half scale in each direction: a quarter of the pixels
    assert (orientation, facts["camera"]) == (1, "Google Pixel 8")
    assert process(data).width == DISPLAY_EDGE


def test_the_display_image_is_one_box_resize_of_the_reduced_decode_turned_upright():
    """process() makes the resize's two passes one after the other to keep less memory at once;
    the pixels must be exactly those of one resize."""
    data = phone_jpeg(4000, 3000, orientation=6)
    image = decode(data)[0].resize((DISPLAY_EDGE, 1200), Image.Resampling.BOX).transpose(Image.Transpose.ROTATE_270)
    assert process(data).display == _saved(image, "JPEG", quality=85)


def test_a_refusal_survives_the_trip_from_a_worker_process():
    import pickle

    again = pickle.loads(pickle.dumps(PhotoRefused(413, "too many pixels")))
    assert (again.status, again.message, str(again)) == (413, "too many pixels", "too many pixels")

"""One uploaded photo -> a display image and a thumbnail that carry nothing of the original's bytes
or metadata, plus what is worth keeping as data (capture time, GPS, camera) and a perceptual hash.

Pure: bytes in, bytes and data out; no web or database imports. CPU-heavy: callers run it in a
worker process, never on the server's event loop.

Choices:
- JPEG, PNG and WebP, recognised from their bytes, never from a name. HEIC is not accepted:
  phones hand HEIC to the browser as JPEG when the page asks for `image/*` uploads, and the app
  shrinks photos to JPEG before sending, so pillow-heif (a large native dependency) buys little.
- At most MAX_PIXELS pixels, checked from the header before anything is decoded, and Pillow's
  own decompression-bomb warning is an error; both are 413.
- At most MAX_DECODED_BYTES as Pillow holds the decoded image (pixels x its mode's bytes per
  pixel), also checked before decoding: a 40 MP 16-bit RGBA PNG is small on the wire and 150 MiB
  in memory; no phone sends one. A JPEG is counted at the reduced scale it is decoded at.
- A 12-megapixel JPEG is decoded at reduced DCT scale (`Image.draft`) straight to about the
  display size, then resized, turned upright and re-encoded; the thumbnail is made from the
  display image, not from the original.
"""

import hashlib
import io
import re
import warnings

import msgspec
from PIL import ExifTags, Image, UnidentifiedImageError

ACCEPTED = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 40_000_000  # Pillow's default ceiling is 89 MP; the app sends ~2 MP
MAX_DECODED_BYTES = 64 * 1024 * 1024  # a 16 MP PNG screenshot; a 12 MP JPEG decodes to 12 MiB
# bytes per pixel as Pillow stores each mode in memory (RGB takes 4, like RGBA)
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
DISPLAY_EDGE = 1600
THUMB_EDGE = 320
# Markup where an image should be: an HTML/JPEG polyglot that a browser might sniff as a page.
_MARKUP = re.compile(rb"<(?:html|head|body|script|svg|iframe|object|embed|!doctype)[\s>/]", re.IGNORECASE)


# EXIF orientation -> the turn that makes the picture upright (EXIF 2.3, tag 274)
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class PhotoRefused(Exception):
    """Why an upload is not a photo we keep; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message)  # both in args: it crosses from the worker process by pickling
        self.status, self.message = status, message

    def __str__(self) -> str:
        return self.message


class Processed(msgspec.Struct, frozen=True, kw_only=True):
    display: bytes  # JPEG, long edge <= DISPLAY_EDGE, no metadata
    thumb: bytes  # JPEG, long edge <= THUMB_EDGE, no metadata
    width: int
    height: int
    sha256: str  # of `display`: the stored file's name
    phash: str  # 64-bit difference hash, hex: near-equal for the same picture re-encoded
    taken_at: str | None  # EXIF DateTimeOriginal as written by the camera (local time, no zone)
    lat: float | None
    lng: float | None
    camera: str | None


def process(data: bytes) -> Processed:
    """Check, orient, strip and resize one photo, or raise PhotoRefused saying why."""
    image, orientation, facts = decode(data)
    image = _rgb(image)
    long_edge = max(image.size)
    if long_edge > DISPLAY_EDGE:
        # BOX (area averaging): a third cheaper than bilinear, and right for shrinking. Its two passes
        # are made one after the other, letting go of the source in between: the same pixels as one
        # resize, which would hold source, a 10 MB scratch image and result at once (30 MB for a
        # 12 MP photo). 22 MB at most is what the C allocator keeps for the next photo, instead of
        # handing it back and faulting fresh pages in: 7,182 page faults, about 18 ms, per photo.
        width, height = round(image.width * DISPLAY_EDGE / long_edge), round(image.height * DISPLAY_EDGE / long_edge)
        image = image.resize((width, image.height), Image.Resampling.BOX)
        image = image.resize((width, height), Image.Resampling.BOX)
    turn = _UPRIGHT.get(orientation)  # turning the small image is cheaper than the large one
    if turn is not None:
        image = image.transpose(turn)
    display = _jpeg(image, 85)
    thumb_image = _shrink(image, THUMB_EDGE)
    return Processed(
        display=display,
        thumb=_jpeg(thumb_image, 80),
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(display).hexdigest(),
        phash=difference_hash(thumb_image),
        **facts,
    )


def decode(data: bytes) -> tuple[Image.Image, int, dict]:
    """The checked, loaded image (a JPEG at reduced DCT scale), its EXIF orientation and the facts
    worth keeping; or PhotoRefused. The first half of `process`, and most of its cost."""
    if not data:
        raise PhotoRefused(400, "the body is empty: send the image's bytes")
    if _MARKUP.search(data):
        raise PhotoRefused(415, "the file holds HTML or script markup as well as an image; it is not kept")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ACCEPTED)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoRefused(413, f"more than the {MAX_PIXELS // 1_000_000} megapixels accepted") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise PhotoRefused(415, "not a JPEG, PNG or WebP image (judged by its bytes, not its name)") from None
        if image.width * image.height > MAX_PIXELS:
            raise PhotoRefused(413, f"{image.width} x {image.height} pixels is more than the {MAX_PIXELS // 1_000_000} megapixels accepted")
        exif = image.getexif()
        facts = _facts(exif)
        orientation = exif.get(ExifTags.Base.Orientation, 1)  # read now: converting the image drops it
        if image.format == "JPEG":  # decode at the smallest DCT scale still at least display size
            long_edge = max(image.size)
            if long_edge > DISPLAY_EDGE:
                image.draft("RGB", (image.width * DISPLAY_EDGE // long_edge, image.height * DISPLAY_EDGE // long_edge))
        decoded = decoded_bytes(image)
        if decoded > MAX_DECODED_BYTES:
            raise PhotoRefused(
                413,
                f"{image.width} x {image.height} pixels of {image.mode} take {decoded / 2**20:.0f} MiB to decode; at most "
                f"{MAX_DECODED_BYTES // 2**20} MiB is accepted: send it as a JPEG, or smaller",
            )
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
            raise PhotoRefused(422, f"the image is damaged or cut short ({exc})") from None
    return image, orientation, facts


def decoded_bytes(image: Image.Image) -> int:
    """What the decoded image will take in memory, from its header: pixels x bytes per pixel."""
    return image.width * image.height * _PIXEL_BYTES.get(image.mode, 4)


def _shrink(image: Image.Image, edge: int) -> Image.Image:
    """Long edge <= `edge`: a whole-number box reduction (cheap), then a small resize if still needed."""
    factor = max(image.size) // edge
    small = image.reduce(factor) if factor > 1 else image.copy()
    if max(small.size) > edge:
        small.thumbnail((edge, edge), Image.Resampling.BOX)
    return small


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)  # no exif=, no icc_profile=: nothing of the original travels
    return out.getvalue()


def difference_hash(image: Image.Image) -> str:
    """64 bits: is each pixel of a 9x8 grey version brighter than its right neighbour."""
    small = image.convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    pixels = small.tobytes()  # 9 x 8 bytes, row by row
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (pixels[row * 9 + col] > pixels[row * 9 + col + 1])
    return f"{bits:016x}"


def distance(a: str, b: str) -> int:
    """How many of the 64 bits differ: 0-5 the same picture, over 20 a different one."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _facts(exif: Image.Exif) -> dict:
    """What is worth keeping of the metadata, as data; everything else is dropped."""
    details = exif.get_ifd(ExifTags.IFD.Exif)
    taken = details.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    camera = " ".join(str(exif[t]).strip("\x00 ") for t in (ExifTags.Base.Make, ExifTags.Base.Model) if exif.get(t)) or None
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
    lng = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W")
    return {"taken_at": str(taken).strip("\x00 ") if taken else None, "lat": lat, "lng": lng, "camera": camera}


def _degrees(value, ref, negative: str) -> float | None:
    try:
        degrees, minutes, seconds = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode(errors="ignore")
    return -result if str(ref).strip("\x00 ").upper() == negative else result

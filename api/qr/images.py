"""QR images of a connector's URL with the ``qrcode`` package: PNG (pure Python, through pypng) and SVG.

Error correction M (15 %): a sticker outdoors gets scratched; the URL still fits a small symbol.
The quiet zone is the standard 4 modules.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from qrcode.image.pure import PyPNGImage
from qrcode.image.svg import SvgPathFillImage

BORDER = 4
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M


def _qr(url: str, image_factory: type, box_size: int) -> qrcode.QRCode:
    qr = qrcode.QRCode(
        error_correction=ERROR_CORRECTION, box_size=box_size, border=BORDER, image_factory=image_factory
    )
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def matrix(url: str) -> list[list[bool]]:
    """The modules of the symbol, quiet zone included (True = dark)."""
    return _qr(url, PyPNGImage, 1).get_matrix()


def png(url: str, box_size: int = 10) -> bytes:
    """``box_size`` pixels per module (10 px: a 29-module symbol is 370 px with its quiet zone)."""
    out = io.BytesIO()
    _qr(url, PyPNGImage, box_size).make_image().save(out)
    return out.getvalue()


def svg(url: str) -> str:
    """A standalone SVG document (white background, one path; viewBox in modules, 1 mm per module)."""
    image = _qr(url, SvgPathFillImage, 10).make_image()
    return image.to_string(encoding="unicode")

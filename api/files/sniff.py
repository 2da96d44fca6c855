"""What a file really is, judged by its bytes, and a name that is safe to store and hand back.

``sniff`` never trusts the declared name or a client's Content-Type: it reads the content's signature
(the ``filetype`` library, which also tells an Office document from a plain ZIP) and falls back to
"UTF-8 text" or ``application/octet-stream``. The declared name is used only to catch a contradiction
(``report.pdf`` whose bytes are a PNG), which is refused with ``FileTypeMismatch``.

    DomainError
    └── InvalidInput                  INVALID_INPUT
        └── FileTypeMismatch          FILE_TYPE_MISMATCH
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Set as AbstractSet

import filetype  # type: ignore[import-untyped]  # no py.typed; the one call below is wrapped and typed

from api.core.errors import InvalidInput

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
ZIP = "application/zip"
GZIP = "application/gzip"
TEXT = "text/plain"
BINARY = "application/octet-stream"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
EPUB = "application/epub+zip"

ZIP_BASED = frozenset({ZIP, DOCX, XLSX, PPTX, ODT, ODS, ODP, EPUB})
"""Formats that are ZIP archives inside; their content is also a valid ``.zip``."""

_STRONG = frozenset({PDF, PNG, JPEG, GIF, WEBP, GZIP}) | ZIP_BASED
"""Signatures long and specific enough to win over "this is also valid UTF-8 text"."""

_LABELS = {
    PDF: "a PDF document",
    PNG: "a PNG image",
    JPEG: "a JPEG image",
    GIF: "a GIF image",
    WEBP: "a WebP image",
    ZIP: "a ZIP archive",
    GZIP: "a gzip archive",
    TEXT: "UTF-8 text",
    BINARY: "binary data of an unknown kind",
    DOCX: "a Word document",
    XLSX: "an Excel workbook",
    PPTX: "a PowerPoint presentation",
    ODT: "an OpenDocument text",
    ODS: "an OpenDocument spreadsheet",
    ODP: "an OpenDocument presentation",
    EPUB: "an EPUB book",
}

_TEXT_EXTENSIONS = ("txt", "log", "csv", "tsv", "json", "xml", "md", "ini", "cfg", "conf", "yaml", "yml")
NAMED_TYPE_BY_EXTENSION: dict[str, str] = {
    "pdf": PDF,
    "png": PNG,
    "jpg": JPEG,
    "jpeg": JPEG,
    "jpe": JPEG,
    "jfif": JPEG,
    "gif": GIF,
    "webp": WEBP,
    "zip": ZIP,
    "gz": GZIP,
    "tgz": GZIP,
    "gzip": GZIP,
    "docx": DOCX,
    "xlsx": XLSX,
    "pptx": PPTX,
    "odt": ODT,
    "ods": ODS,
    "odp": ODP,
    "epub": EPUB,
    **{ext: TEXT for ext in _TEXT_EXTENSIONS},
}
"""Extensions we know, and what a file so named must be. Other extensions are not judged."""


def _accepted(named: str) -> frozenset[str]:
    if named == ZIP:
        return ZIP_BASED  # a .docx renamed to .zip is still a valid ZIP
    if named in ZIP_BASED:
        return frozenset({named, ZIP})  # an Office file whose entries the library cannot place: a ZIP
    return frozenset({named})


_BOM = b"\xef\xbb\xbf"
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
"""C0 controls that text does not contain (tab, LF, VT, FF, CR and ESC are allowed: logs have them)."""

MAX_NAME_CHARS = 120
MAX_EXTENSION_CHARS = 16
_UNSAFE_NAME_CHARS = re.compile(r'[<>:"|?*]')
_DOTS = re.compile(r"\.{2,}")


class FileTypeMismatch(InvalidInput):
    code = "FILE_TYPE_MISMATCH"


def describe(content_type: str) -> str:
    """Words for a content type, for error messages ("a PNG image")."""
    return _LABELS.get(_bare(content_type), content_type)


def _bare(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _extension(safe_name: str) -> str:
    stem, dot, ext = safe_name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _library_guess(data: bytes) -> str | None:
    guessed = filetype.guess_mime(data)
    return guessed if isinstance(guessed, str) else None


def _is_text(data: bytes) -> bool:
    body = data.removeprefix(_BOM)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _BINARY_CONTROLS.search(text) is None


def content_type_of(data: bytes) -> str:
    """The content type by content alone: a known signature, else UTF-8 text, else octet-stream."""
    guessed = _library_guess(data) if data else None
    if guessed is not None and guessed in _STRONG:
        return guessed
    if _is_text(data):
        return TEXT
    if guessed is not None:
        return guessed  # another format with a signature the library knows (bmp, mp4, 7z, ...)
    return BINARY


def sniff(data: bytes, declared_name: str) -> str:
    """The real content type of ``data``; raises FileTypeMismatch when the declared name's extension
    (one of NAMED_TYPE_BY_EXTENSION) says something else. Unknown or missing extensions are not judged."""
    found = content_type_of(data)
    shown = safe_filename(declared_name)
    named = NAMED_TYPE_BY_EXTENSION.get(_extension(shown))
    if named is None:
        return found
    if found not in _accepted(named):
        raise FileTypeMismatch(f"{shown} is named as {describe(named)} but its content is {describe(found)}")
    if found == ZIP and named in ZIP_BASED:
        return named  # a ZIP the library could not place further, named as an Office/OpenDocument file
    return found


def check_allowed(content_type: str, allowed: AbstractSet[str]) -> None:
    """Raise InvalidInput unless ``content_type`` (parameters ignored) is one of ``allowed``."""
    bare = _bare(content_type)
    if bare not in {_bare(item) for item in allowed}:
        raise InvalidInput(f"{describe(bare)} ({bare}) is not an allowed file type")


def _clean_char(char: str) -> str:
    category = unicodedata.category(char)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return ""  # controls, NUL, bidi overrides, surrogates, unassigned, line separators
    if category == "Zs":
        return " "
    return char


def safe_filename(name: str) -> str:
    """A display/download name that is safe everywhere: the last path component only, no controls, NUL,
    slashes, backslashes, ``..`` or leading dots, at most 120 characters (the extension kept), Chinese
    and other letters kept. Never empty: nothing left becomes ``file``."""
    last = re.split(r"[/\\]", name)[-1]
    text = unicodedata.normalize("NFC", last)
    text = "".join(_clean_char(char) for char in text)
    text = _UNSAFE_NAME_CHARS.sub("_", text)
    text = _DOTS.sub(".", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    stem, dot, ext = text.rpartition(".")
    if not dot or not stem or len(ext) > MAX_EXTENSION_CHARS or not ext:
        stem, ext = text, ""
    suffix = f".{ext}" if ext else ""
    stem = stem[: MAX_NAME_CHARS - len(suffix)].rstrip(" .")
    return stem + suffix if stem else "file"

"""Content sniffing, the declared-name check, allowed types and safe file names."""

from __future__ import annotations

import gzip
import io
import os
import struct
import zipfile
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.core.errors import InvalidInput
from api.files.sniff import (
    BINARY,
    DOCX,
    GIF,
    GZIP,
    JPEG,
    MAX_NAME_CHARS,
    PDF,
    PNG,
    TEXT,
    WEBP,
    XLSX,
    ZIP,
    FileTypeMismatch,
    check_allowed,
    content_type_of,
    safe_filename,
    sniff,
)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def make_png() -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
    return buffer.getvalue()


PDF_BYTES = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
JPEG_BYTES = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
)
GIF_BYTES = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00"
    b"\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
WEBP_BYTES = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8L" + struct.pack("<I", 18) + b"\x2f" + b"\x00" * 17
ZIP_BYTES = make_zip({"logs/boot.log": b"boot ok\n", "meter.csv": b"t,kwh\n"})
DOCX_BYTES = make_zip(
    {
        "[Content_Types].xml": b"<Types/>",
        "_rels/.rels": b"<Relationships/>",
        "word/document.xml": b"<w:document/>",
    }
)
GZIP_BYTES = gzip.compress(b"2024-03-01 charge point boot\n" * 20)
TEXT_BYTES = "充电桩 CP-001 诊断日志\n\tstatus=ok\r\n\x1b[32mgreen\x1b[0m\n".encode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF_BYTES, PDF),
        (b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n", PDF),  # an all-ASCII PDF is still a PDF
        (make_png(), PNG),
        (JPEG_BYTES, JPEG),
        (GIF_BYTES, GIF),
        (WEBP_BYTES, WEBP),
        (ZIP_BYTES, ZIP),
        (DOCX_BYTES, DOCX),
        (GZIP_BYTES, GZIP),
        (TEXT_BYTES, TEXT),
        (b"\xef\xbb\xbf" + "带 BOM 的文本".encode(), TEXT),
        (b"BMW i3 charged 12 kWh\n", TEXT),  # starts like a BMP header, but it is text
        (b"ID3 is how this log line starts\n", TEXT),
        (b"", TEXT),
        (os.urandom(4096) + b"\x00\x01", BINARY),
        (b"\x00\x01\x02\x03binary", BINARY),
        ("文本".encode("gbk") + b"\x00", BINARY),
        (b"text\x00with a NUL", BINARY),
    ],
)
def test_content_type_is_judged_by_the_bytes(data: bytes, expected: str) -> None:
    assert content_type_of(data) == expected
    assert sniff(data, "upload") == expected
    assert sniff(data, "whatever.bin") == expected


def test_a_large_text_file_is_text() -> None:
    assert content_type_of(("行 line\n" * 300_000).encode()) == TEXT


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (PDF_BYTES, "report.pdf"),
        (PDF_BYTES, "REPORT.PDF"),
        (JPEG_BYTES, "photo.jpeg"),
        (JPEG_BYTES, "photo.JPG"),
        (make_png(), "站点照片.png"),
        (GZIP_BYTES, "diag.tar.gz"),
        (ZIP_BYTES, "diag.zip"),
        (DOCX_BYTES, "renamed.zip"),
        (TEXT_BYTES, "boot.log"),
        (b"a,b\n1,2\n", "meter.csv"),
    ],
)
def test_matching_names_pass(data: bytes, name: str) -> None:
    sniff(data, name)


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (make_png(), "report.pdf", ("report.pdf", "a PDF document", "a PNG image")),
        (PDF_BYTES, "photo.jpg", ("photo.jpg", "a JPEG image", "a PDF document")),
        (b"\x00\x01binary", "notes.txt", ("notes.txt", "UTF-8 text", "unknown kind")),
        (b"hello", "archive.zip", ("archive.zip", "a ZIP archive", "UTF-8 text")),
        (PDF_BYTES, "合同.docx", ("合同.docx", "a Word document", "a PDF document")),
        (make_png(), "report.pdf.", ("report.pdf", "a PDF document", "a PNG image")),  # trailing dot trick
        (make_png(), "../../report.pdf", ("report.pdf",)),
    ],
)
def test_a_name_that_contradicts_the_content_is_refused(
    data: bytes, name: str, words: tuple[str, ...]
) -> None:
    with pytest.raises(FileTypeMismatch) as caught:
        sniff(data, name)
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.code == "FILE_TYPE_MISMATCH"
    for word in words:
        assert word in caught.value.message


def test_an_office_file_the_library_cannot_place_takes_its_type_from_a_matching_name() -> None:
    odd_docx = make_zip(
        {"customXml/item1.xml": b"<x/>", "[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}
    )
    assert content_type_of(odd_docx) == ZIP
    assert sniff(odd_docx, "合同.docx") == DOCX
    assert sniff(odd_docx, "sheet.xlsx") == XLSX
    assert sniff(odd_docx, "plain.zip") == ZIP


def test_unknown_extensions_are_not_judged() -> None:
    assert sniff(make_png(), "firmware.bin") == PNG
    assert sniff(PDF_BYTES, "no-extension") == PDF


def test_check_allowed() -> None:
    check_allowed(PDF, {PDF, PNG})
    check_allowed("text/plain; charset=utf-8", {TEXT})
    check_allowed("Application/PDF", {PDF})
    with pytest.raises(InvalidInput) as caught:
        check_allowed(BINARY, {PDF, PNG, JPEG})
    assert "is not an allowed file type" in caught.value.message
    assert caught.value.code == "INVALID_INPUT"
    with pytest.raises(InvalidInput, match="a ZIP archive .application/zip. is not an allowed file type"):
        check_allowed(ZIP, set())


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("充电桩巡检报告 2024年3月.pdf", "充电桩巡检报告 2024年3月.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\王\\Desktop\\合同.docx", "合同.docx"),
        ("/abs/path/", "file"),
        ("..", "file"),
        ("", "file"),
        ("...", "file"),
        (".bashrc", "bashrc"),
        ("..hidden.txt", "hidden.txt"),
        ("a..b....pdf", "a.b.pdf"),
        ("nul\x00byte.txt", "nulbyte.txt"),
        ("tab\there\nnew.txt", "tabherenew.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # right-to-left override stripped
        ('a<b>:c"d|e?f*g.txt', "a_b__c_d_e_f_g.txt"),
        ("  spaced   name  .txt  ", "spaced name.txt"),
        ("trailing.dots...", "trailing.dots"),
        ("e\u0301te\u0301.txt", "\u00e9t\u00e9.txt"),  # NFC
    ],
)
def test_safe_filename_examples(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe


def test_long_names_keep_their_extension() -> None:
    name = "长" * 300 + ".pdf"
    safe = safe_filename(name)
    assert len(safe) == MAX_NAME_CHARS
    assert safe == "长" * (MAX_NAME_CHARS - 4) + ".pdf"
    no_extension = safe_filename("x" * 500)
    assert no_extension == "x" * MAX_NAME_CHARS
    odd_extension = safe_filename("a." + "b" * 300)  # an "extension" that long is just part of the name
    assert len(odd_extension) == MAX_NAME_CHARS and odd_extension.startswith("a.b")


@given(st.text(max_size=400))
def test_safe_filename_properties(name: str) -> None:
    safe = safe_filename(name)
    assert safe
    assert len(safe) <= MAX_NAME_CHARS
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".")
    assert ".." not in safe
    assert all(char.isprintable() for char in safe)
    assert safe_filename(safe) == safe


@given(
    stem=st.text(
        alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=100
    ),
    extension=st.sampled_from(["pdf", "png", "txt", "docx"]),
)
def test_chinese_names_survive_unchanged(stem: str, extension: str) -> None:
    assert safe_filename(f"{stem}.{extension}") == f"{stem}.{extension}"


@given(st.lists(st.sampled_from(["..", ".", "/", "\\", "a", "报", "\x00", " ", "\t"]), max_size=30))
def test_safe_filename_of_path_tricks(parts: list[str]) -> None:
    safe = safe_filename("".join(parts))
    assert safe == "file" or set(safe) <= {"a", "报", ".", " "}
    assert not safe.startswith(".") and ".." not in safe

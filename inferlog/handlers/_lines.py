"""One record, one line: how the file sink encodes what it writes."""

from __future__ import annotations

__all__ = ["encode_line", "encode_text"]


def _one_line(text: str) -> str:
    # JSON never contains a raw line break, but a plain formatter (or a traceback)
    # can: escape it so that one record is always exactly one line.
    if "\n" in text or "\r" in text:
        text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text


def encode_text(text: str) -> bytes:
    """Return ``text`` as one UTF-8 line ending in a newline; inner breaks escaped."""
    if text.endswith("\n"):
        text = text[:-1]
    return (_one_line(text) + "\n").encode("utf-8", "backslashreplace")


def encode_line(line: str | bytes) -> bytes:
    """As :func:`encode_text`, for text or already-encoded bytes (kept as they are)."""
    if isinstance(line, bytes):
        body = line[:-1] if line.endswith(b"\n") else line
        if b"\n" not in body and b"\r" not in body:
            return body + b"\n"
        line = body.decode("utf-8", "backslashreplace")
    return encode_text(line)

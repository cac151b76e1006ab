"""The sampling decision's hash: a request or trace id mapped to a number in [0, 1)."""

from __future__ import annotations

from hashlib import blake2b

__all__ = [
    "request_id_fraction",
    "trace_id_fraction",
]

_TWO_POW_MINUS_53 = 2.0**-53
_TRACE_ID_HEX_LEN = 32
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def request_id_fraction(request_id: str) -> float:
    """Map a request id to a number in [0, 1), the same in every process and language.

    The number is the first 53 bits of the 8-byte BLAKE2b digest of the id's UTF-8
    bytes, read big-endian, divided by 2**53. A record is kept when this number is
    below its rate. Python's ``hash()`` is not used: it is randomised per process.
    """
    digest = blake2b(request_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) * _TWO_POW_MINUS_53


def trace_id_fraction(trace_id: str) -> float:
    """Map a W3C trace id (32 hex digits) to [0, 1) from its lower 64 bits.

    This is the quantity OpenTelemetry's ``TraceIdRatioBased`` sampler compares with
    its ratio, so a trace kept by that sampler at ratio ``r`` has its logs kept at rate
    ``r`` (up to rounding within 2**-53 of the boundary). A value that is not 32 hex
    digits is hashed like a request id.
    """
    # int(x, 16) alone would also accept signs, spaces and underscores.
    if len(trace_id) == _TRACE_ID_HEX_LEN and _HEX_DIGITS.issuperset(trace_id):
        return (int(trace_id[16:], 16) >> 11) * _TWO_POW_MINUS_53
    return request_id_fraction(trace_id)

"""The fast hex-string reader gives what pyHanko's own reader gives, on any input."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic

from signing import hexstrings

# Hex digits and whitespace most of the time, now and then a character that sends the reader
# to pyHanko's path (comment, stray byte, end of data without ">").
BODY = st.lists(
    st.one_of(
        st.sampled_from(list(b"0123456789abcdefABCDEF \n\r\t\f\x00")),
        st.sampled_from(list(b"%>g<(\xff")),
    ),
    max_size=200,
).map(bytes)


def outcome(reader, data: bytes):
    stream = io.BytesIO(data)
    try:
        value = reader(stream)
    except Exception as exc:  # the error itself is part of the contract
        return type(exc).__name__, str(exc), stream.tell()
    return type(value).__name__, bytes(value.original_bytes), stream.tell()


@settings(max_examples=2000, deadline=None)
@given(prefix=BODY, body=BODY, closed=st.booleans(), tail=BODY)
def test_fast_reader_agrees_with_pyhanko(prefix: bytes, body: bytes, closed: bool, tail: bytes):
    data = b"<" + body + (b">" if closed else b"") + tail
    assert outcome(hexstrings.read_hex_string, data) == outcome(
        hexstrings.pyhanko_read_hex_string, data
    )


def test_signature_sized_string_spanning_chunks_and_whitespace():
    payload = bytes(range(256)) * 40  # 10 KB → 20,480 hex digits, more than one chunk
    hex_digits = payload.hex().upper().encode()
    data = b"<" + b"\n".join(hex_digits[i : i + 64] for i in range(0, len(hex_digits), 64))
    data += b"> /Next 1"
    stream = io.BytesIO(data)
    value = hexstrings.read_hex_string(stream)
    assert bytes(value.original_bytes) == payload
    assert stream.read() == b" /Next 1"


def test_installed_into_pyhankos_parser():
    import signing  # noqa: F401 - the package installs it

    assert generic.read_hex_string_from_stream is hexstrings.read_hex_string
    parsed = generic.read_object(io.BytesIO(b"<FEFF 4E2D 6587>"), container_ref=None)
    assert isinstance(parsed, generic.TextStringObject) and str(parsed) == "中文"

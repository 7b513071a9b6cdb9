"""An independent GB/T 38540-2020 checker for SES_Seal / SES_Signature (tests only).

It shares nothing with signing.gm.ses: it walks raw DER tag by tag in the order of the
standard's ASN.1 (as ofdrw-gm's v4 structures have it), hashes with pure-Python SM3 (pysmx) and
checks every SM2 signature with pysmx and OpenSSL's CLI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from pysmx.SM3 import digest as pysmx_sm3

from tests.signing.gm.crosscheck import both_verify

SEQUENCE, SET, INTEGER, BIT_STRING, OCTET_STRING, OID = 0x30, 0x31, 0x02, 0x03, 0x04, 0x06
UTF8, IA5, GENERALIZED_TIME, CONTEXT_0 = 0x0C, 0x16, 0x18, 0xA0


@dataclass
class Tlv:
    tag: int
    content: bytes
    raw: bytes


def read_tlv(data: bytes, pos: int = 0) -> tuple[Tlv, int]:
    tag = data[pos]
    length, pos = data[pos + 1], pos + 2
    if length & 0x80:
        count = length & 0x7F
        assert 1 <= count <= 4, "DER: definite length in at most 4 octets"
        length = int.from_bytes(data[pos : pos + count], "big")
        assert length >= 0x80 and data[pos] != 0, "DER: minimal length encoding"
        pos += count
    end = pos + length
    assert end <= len(data), "truncated"
    return Tlv(tag, data[pos:end], b""), end


def parse(data: bytes) -> Tlv:
    tlv, end = read_tlv(data)
    assert end == len(data), "trailing bytes"
    tlv.raw = data
    return tlv


def items(tlv: Tlv, *tags: int) -> list[Tlv]:
    """The children of a constructed value; asserts their tags, in order."""
    out, pos = [], 0
    while pos < len(tlv.content):
        start = pos
        child, pos = read_tlv(tlv.content, pos)
        child.raw = tlv.content[start:pos]
        out.append(child)
    assert [c.tag for c in out] == list(tags), f"tags {[hex(c.tag) for c in out]}"
    return out


def integer(tlv: Tlv) -> int:
    assert tlv.tag == INTEGER
    return int.from_bytes(tlv.content, "big", signed=True)


def text(tlv: Tlv) -> str:
    return tlv.content.decode("utf-8" if tlv.tag == UTF8 else "ascii")


def oid(tlv: Tlv) -> str:
    values, acc = [], 0
    for byte in tlv.content:
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            values.append(acc)
            acc = 0
    first = min(values[0] // 40, 2)
    return ".".join(map(str, [first, values[0] - 40 * first, *values[1:]]))


def bits(tlv: Tlv) -> bytes:
    assert tlv.tag == BIT_STRING and tlv.content[0] == 0, "BIT STRING with no unused bits"
    return tlv.content[1:]


def gtime(tlv: Tlv) -> dt.datetime:
    assert tlv.tag == GENERALIZED_TIME
    return dt.datetime.strptime(tlv.content.decode(), "%Y%m%d%H%M%SZ").replace(tzinfo=dt.UTC)


def point_of(cert_der: bytes) -> bytes:
    cert = asn1_x509.Certificate.load(cert_der)
    return bytes(cert.public_key["public_key"])


def check_sm2(cert_der: bytes, signed: bytes, signature: bytes) -> None:
    assert both_verify(point_of(cert_der), signed, signature) == (True, True)


def check_seal(der: bytes) -> dict:
    seal = parse(der)
    info, cert, alg, value = items(seal, SEQUENCE, OCTET_STRING, OID, BIT_STRING)
    header, es_id, prop, picture = items(info, SEQUENCE, IA5, SEQUENCE, SEQUENCE)
    magic, version, vid = items(header, IA5, INTEGER, IA5)
    assert text(magic) == "ES" and integer(version) == 4
    seal_type, name, list_type, cert_list, created, start, end = items(
        prop, INTEGER, UTF8, INTEGER, SEQUENCE, GENERALIZED_TIME, GENERALIZED_TIME, GENERALIZED_TIME
    )
    assert integer(list_type) == 1
    certs = [c.content for c in items(cert_list, *[OCTET_STRING] * _count(cert_list))]
    pic_type, pic_data, width, height = items(picture, IA5, OCTET_STRING, INTEGER, INTEGER)
    assert oid(alg) == "1.2.156.10197.1.501"
    check_sm2(cert.content, info.raw, bits(value))  # the seal maker signed SES_SealInfo
    return {
        "vid": text(vid),
        "es_id": text(es_id),
        "type": integer(seal_type),
        "name": text(name),
        "certs": certs,
        "created": gtime(created),
        "valid": (gtime(start), gtime(end)),
        "picture": (text(pic_type), pic_data.content, integer(width), integer(height)),
        "maker": cert.content,
    }


def _count(tlv: Tlv) -> int:
    pos, n = 0, 0
    while pos < len(tlv.content):
        _, pos = read_tlv(tlv.content, pos)
        n += 1
    return n


def check_signature(der: bytes, signed_bytes: bytes, seal_der: bytes) -> dict:
    signature = parse(der)
    stamped = _count(signature) == 5
    tbs, cert, alg, value, *stamp = items(
        signature, SEQUENCE, OCTET_STRING, OID, BIT_STRING, *([CONTEXT_0] if stamped else [])
    )
    version, eseal, time_info, data_hash, property_info = items(
        tbs, INTEGER, SEQUENCE, GENERALIZED_TIME, BIT_STRING, IA5
    )
    assert integer(version) == 4
    assert eseal.raw == seal_der, "TBS_Sign carries the seal unchanged"
    seal = check_seal(eseal.raw)
    assert cert.content in seal["certs"], "the signer's certificate is listed in the seal"
    assert bits(data_hash) == pysmx_sm3(bytearray(signed_bytes)), "dataHash = SM3(signed bytes)"
    assert oid(alg) == "1.2.156.10197.1.501"
    check_sm2(cert.content, tbs.raw, bits(value))  # the signer signed TBS_Sign
    if stamped:  # timeStamp [0] EXPLICIT BIT STRING: a TimeStampToken over the signature value
        (stamp_bits,) = items(stamp[0], BIT_STRING)
        token = cms.ContentInfo.load(bits(stamp_bits))
        tst = token["content"]["encap_content_info"]["content"].parsed
        imprint = tst["message_imprint"]
        assert imprint["hash_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"
        assert imprint["hashed_message"].native == pysmx_sm3(bytearray(bits(value)))
    return {
        "time": gtime(time_info),
        "property": text(property_info),
        "cert": cert.content,
        "stamped": stamped,
    }

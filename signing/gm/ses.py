"""GB/T 38540-2020 electronic seal structures (安全电子签章密码技术规范): SES_Seal and SES_Signature.

Field order and types follow the standard's ASN.1 as implemented by ofdrw's ``ofdrw-gm`` (package
``org.ofdrw.gm.ses.v4``), which Chinese OFD validators interoperate with::

    SES_Seal      ::= SEQUENCE { eSealInfo SES_SealInfo, cert OCTET STRING (制章人证书),
                                 signAlgID OBJECT IDENTIFIER, signedValue BIT STRING }
    SES_SealInfo  ::= SEQUENCE { header SES_Header, esID IA5String, property SES_ESPropertyInfo,
                                 picture SES_ESPictureInfo, extDatas ExtensionDatas OPTIONAL }
    SES_Header    ::= SEQUENCE { id IA5String ("ES"), version INTEGER (4), vid IA5String }
    SES_ESPropertyInfo ::= SEQUENCE { type INTEGER, name UTF8String, certListType INTEGER,
                                 certList SES_CertList, createDate GeneralizedTime,
                                 validStart GeneralizedTime, validEnd GeneralizedTime }
    SES_CertList  ::= CHOICE { certs SEQUENCE OF OCTET STRING,          -- certListType 1
                               certDigestList SEQUENCE OF CertDigestObj } -- certListType 2
    SES_ESPictureInfo ::= SEQUENCE { type IA5String, data OCTET STRING,
                                 width INTEGER, height INTEGER }          -- millimetres
    SES_Signature ::= SEQUENCE { toSign TBS_Sign, cert OCTET STRING (签章人证书),
                                 signatureAlgID OBJECT IDENTIFIER, signature BIT STRING,
                                 timeStamp [0] EXPLICIT BIT STRING OPTIONAL }
    TBS_Sign      ::= SEQUENCE { version INTEGER (4), eseal SES_Seal, timeInfo GeneralizedTime,
                                 dataHash BIT STRING, propertyInfo IA5String,
                                 extDatas [0] EXPLICIT ExtensionDatas OPTIONAL }

Signatures (SM2-with-SM3, default user id), as ofdrw computes and checks them: ``signedValue`` over
the DER of SES_SealInfo by the seal maker (制章者); ``signature`` over the DER of TBS_Sign by the
signer; ``dataHash`` is SM3 of the signed bytes (for a PDF signature: the bytes its /ByteRange
covers, the same digest as its CMS messageDigest); ``timeStamp`` is a DER TimeStampToken from the
SM2 TSA over the signature value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from io import BytesIO

from asn1crypto import core, tsp
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from ..errors import SigningError
from . import oids
from .sm2 import Sm2PrivateKey
from .tsa import GmTimestampAuthority

__all__ = [
    "SES_VERSION",
    "SEAL_TYPE_ORGANISATION",
    "SEAL_TYPE_PERSON",
    "SesSeal",
    "SesSignature",
    "TbsSign",
    "build_seal",
    "build_signature",
    "pdf_signed_bytes",
]

SES_VERSION = 4
SEAL_TYPE_ORGANISATION = 1  # 单位印章
SEAL_TYPE_PERSON = 2  # 个人印章
_CERT_LIST = 1  # certListType: the signers' certificates themselves


class SesHeader(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class CertInfoList(core.SequenceOf):
    _child_spec = core.OctetString


class CertDigestObj(core.Sequence):
    _fields = [("type", core.PrintableString), ("value", core.OctetString)]


class CertDigestList(core.SequenceOf):
    _child_spec = CertDigestObj


class SesESPropertyInfo(core.Sequence):
    _fields = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),
        ("cert_list", core.Any),  # CertInfoList or CertDigestList, chosen by cert_list_type
        ("create_date", core.GeneralizedTime),
        ("valid_start", core.GeneralizedTime),
        ("valid_end", core.GeneralizedTime),
    ]

    def certificates(self) -> list[bytes]:
        """The signers' certificates (DER) of a certListType 1 seal."""
        if self["cert_list_type"].native != _CERT_LIST:
            raise SigningError("印章只列出了证书杂凑值（certListType 2）")
        return [bytes(c.native) for c in CertInfoList.load(self["cert_list"].dump())]


class SesESPictureInfo(core.Sequence):
    _fields = [
        ("type", core.IA5String),
        ("data", core.OctetString),
        ("width", core.Integer),
        ("height", core.Integer),
    ]


class ExtData(core.Sequence):
    _fields = [
        ("extn_id", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extn_value", core.OctetString),
    ]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtData


class SesSealInfo(core.Sequence):
    _fields = [
        ("header", SesHeader),
        ("es_id", core.IA5String),
        ("property", SesESPropertyInfo),
        ("picture", SesESPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SesSeal(core.Sequence):
    _fields = [
        ("e_seal_info", SesSealInfo),
        ("cert", core.OctetString),
        ("sign_alg_id", core.ObjectIdentifier),
        ("signed_value", core.OctetBitString),
    ]


class TbsSign(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("eseal", SesSeal),
        ("time_info", core.GeneralizedTime),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("ext_datas", ExtensionDatas, {"explicit": 0, "optional": True}),
    ]


class SesSignature(core.Sequence):
    _fields = [
        ("to_sign", TbsSign),
        ("cert", core.OctetString),
        ("signature_alg_id", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True}),
    ]


def _sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _gtime(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise SigningError("时间必须带时区")
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _ascii(value: str, what: str) -> str:
    if not value.isascii():
        raise SigningError(f"{what} 只能含 ASCII 字符（IA5String）")
    return value


def build_seal(
    *,
    es_id: str,
    name: str,
    picture: bytes,
    picture_type: str,
    width_mm: int,
    height_mm: int,
    signer_certificates: Sequence[bytes],
    maker_certificate: bytes,
    maker_key: Sm2PrivateKey,
    valid_start: dt.datetime,
    valid_end: dt.datetime,
    created: dt.datetime | None = None,
    seal_type: int = SEAL_TYPE_ORGANISATION,
    vid: str = "jingpin",
) -> bytes:
    """An SES_Seal (DER) made and signed by the seal maker from the organisation's seal picture.

    ``signer_certificates`` are the DER SM2 certificates allowed to sign with this seal
    (certListType 1); ``maker_certificate`` is the seal maker's DER certificate.
    """
    if not signer_certificates:
        raise SigningError("电子印章至少要列出一张签章人证书")
    if not picture:
        raise SigningError("电子印章需要印章图片")
    if valid_end <= valid_start:
        raise SigningError("印章有效期的终止日期必须晚于起始日期")
    created = created or dt.datetime.now(dt.UTC)
    seal_info = SesSealInfo(
        {
            "header": {"id": "ES", "version": SES_VERSION, "vid": _ascii(vid, "厂商标识 vid")},
            "es_id": _ascii(es_id, "印章标识 esID"),
            "property": {
                "type": seal_type,
                "name": name,
                "cert_list_type": _CERT_LIST,
                "cert_list": core.Any.load(CertInfoList(list(signer_certificates)).dump()),
                "create_date": _gtime(created),
                "valid_start": _gtime(valid_start),
                "valid_end": _gtime(valid_end),
            },
            "picture": {
                "type": _ascii(picture_type, "图片类型"),
                "data": picture,
                "width": width_mm,
                "height": height_mm,
            },
        }
    )
    info_der = seal_info.dump()
    return bytes(
        SesSeal(
            {
                "e_seal_info": SesSealInfo.load(info_der),
                "cert": maker_certificate,
                "sign_alg_id": oids.SM2_WITH_SM3,
                "signed_value": maker_key.sign(info_der),
            }
        ).dump()
    )


def build_signature(
    *,
    seal: bytes,
    signed_bytes: bytes,
    signer_certificate: bytes,
    signer_key: Sm2PrivateKey,
    property_info: str,
    time_info: dt.datetime | None = None,
    timestamp_authority: GmTimestampAuthority | None = None,
) -> bytes:
    """An SES_Signature (DER) over ``signed_bytes`` with the seal ``seal`` (an SES_Seal, DER).

    The signer's certificate must be one the seal lists. With ``timestamp_authority`` the
    signature value is timestamped (SM3 imprint) and the token stored in ``timeStamp``.
    """
    eseal = SesSeal.load(seal)
    allowed = eseal["e_seal_info"]["property"].certificates()
    if bytes(signer_certificate) not in allowed:
        raise SigningError("签章人证书不在该电子印章的证书列表中")
    tbs = TbsSign(
        {
            "version": SES_VERSION,
            "eseal": eseal,
            "time_info": _gtime(time_info or dt.datetime.now(dt.UTC)),
            "data_hash": _sm3(signed_bytes),
            "property_info": _ascii(property_info, "原文属性 propertyInfo"),
        }
    )
    tbs_der = tbs.dump()
    signature = signer_key.sign(tbs_der)
    fields: dict[str, object] = {
        "to_sign": TbsSign.load(tbs_der),
        "cert": signer_certificate,
        "signature_alg_id": oids.SM2_WITH_SM3,
        "signature": signature,
    }
    if timestamp_authority is not None:
        fields["time_stamp"] = _timestamp_token(timestamp_authority, signature)
    return bytes(SesSignature(fields).dump())


def _timestamp_token(authority: GmTimestampAuthority, signature: bytes) -> bytes:
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sm3"},
                "hashed_message": _sm3(signature),
            },
            "cert_req": True,
        }
    )
    response = tsp.TimeStampResp.load(authority.respond(request.dump()))
    if response["status"]["status"].native != "granted":
        raise SigningError("时间戳服务拒绝了请求")
    return bytes(response["time_stamp_token"].dump())


def pdf_signed_bytes(pdf: bytes, field: str) -> bytes:
    """The bytes a PDF signature in ``field`` covers (its /ByteRange), for ``dataHash``."""
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    for name, sig_obj, _ in enumerate_sig_fields(reader, filled_status=True):
        if name == field and sig_obj is not None:
            byte_range = [int(v) for v in sig_obj.get_object()["/ByteRange"]]
            if len(byte_range) != 4:
                break
            a, b, c, d = byte_range
            return pdf[a : a + b] + pdf[c : c + d]
    raise SigningError(f"文档中没有已签名的签名域 {field!r}")

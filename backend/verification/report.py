"""The verification report as a PDF (验证报告): docxtpl template → LibreOffice pool → sealed by
the system (PAdES B-T with the "jingpin 系统" certificate), so the report itself is verifiable."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from pypdf import PdfReader, PdfWriter

from backend.core.dates import beijing_iso
from backend.documents.converter import get_pool
from backend.documents.render import render_docx
from backend.pki.service import seal_with_system
from backend.verification.visual_diff import diff_pages_pdf, visual_diff
from signing.verify import INDICATION_ZH, SUB_INDICATION_ZH

TEMPLATE = "verification_report.docx"
SEAL_FIELD = "jingpin_system_seal"
# Bottom-right of the last page, below the "系统签章：" line (A4, points from the lower left).
SEAL_BOX = (330.0, 40.0, 560.0, 110.0)

COVERAGE_ZH = {
    "ENTIRE_FILE": "覆盖整个文件",
    "ENTIRE_REVISION": "覆盖签名时的整个版本（其后有增量更新）",
    "CONTIGUOUS_BLOCK_FROM_START": "仅覆盖文件开头的一段（不完整）",
    "UNCLEAR": "覆盖范围不明",
}
REVOCATION_ZH = {"good": "未吊销（已核对 CRL）", "revoked": "已吊销", "unknown": "未能确认"}
PARTY_FIELDS = {
    f"party_{party}{suffix}": label
    for party, label in (("yi", "乙方"), ("bing", "丙方"), ("jia", "甲方"))
    for suffix in ("", "_sm2")
}


def verdict(indication: str | None) -> str:
    return INDICATION_ZH.get(indication or "", indication or "无法确定")


def _time(value: str | None) -> str:
    return beijing_iso(value) or "无"


def _timestamp_rows(sig: dict[str, Any]) -> list[dict[str, str]]:
    """A document timestamp: when and by which TSA, never a signer or an organisation."""
    tsa = sig.get("timestamp_authority") or {}
    rows = [
        ("字段", str(sig["field"])),
        ("类型", "文档时间戳（只证明文件在该时间已存在，不是签名）"),
        ("时间戳时间", _time(sig.get("timestamp"))),
        ("时间戳机构", tsa.get("common_name") or tsa.get("organisation") or "未知"),
        ("时间戳证书序列号", tsa.get("serial") or "未知"),
        ("完整性", "所盖内容未被改动" if sig.get("intact") else "所盖内容已被改动或无法核对"),
        ("其后的修改", sig.get("modified_after") or "无"),
        ("时间戳本身", _timestamp_verdict(sig)),
    ]
    rows += [("说明", str(m)) for m in sig.get("messages") or []]
    return [{"label": k, "value": v} for k, v in rows]


def _timestamp_verdict(sig: dict[str, Any]) -> str:
    if sig.get("indication") == "TOTAL_PASSED":
        return "时间戳有效"
    return _conclusion(sig)


def _conclusion(sig: dict[str, Any]) -> str:
    sub = sig.get("sub_indication")
    return verdict(sig.get("indication")) + (
        f"（{SUB_INDICATION_ZH.get(sub, sub)}）" if sub else ""
    )


def signature_rows(sig: dict[str, Any]) -> list[dict[str, str]]:
    if sig.get("kind") == "document_timestamp":
        return _timestamp_rows(sig)
    signer = sig.get("signer") or {}
    rows = [
        (
            "字段",
            f"{sig['field']}"
            + (f"（{PARTY_FIELDS[sig['field']]}）" if sig["field"] in PARTY_FIELDS else ""),
        ),
        ("签署机构", signer.get("organisation") or "未知"),
        (
            "签名算法",
            (sig.get("algorithm") or "未知")
            + (f"（{sig['algorithm_name']}）" if sig.get("algorithm_name") else ""),
        ),
        ("证书主体", signer.get("common_name") or "未知"),
        ("证书序列号", signer.get("serial") or "未知"),
        ("证书颁发者", signer.get("issuer") or "未知"),
        ("签署时间（签署方声明）", _time(sig.get("signed_at"))),
        ("时间戳", _time(sig.get("timestamp")) if sig.get("timestamp") else "无时间戳"),
        ("完整性", "所签内容未被改动" if sig.get("intact") else "所签内容已被改动或无法核对"),
        (
            "证书信任",
            "证书链可追溯到本系统根证书" if sig.get("trusted") else "证书链不可信或无法确认",
        ),
        ("覆盖范围", COVERAGE_ZH.get(sig.get("coverage") or "", sig.get("coverage") or "不明")),
        ("签名后的修改", sig.get("modified_after") or "无"),
        (
            "吊销状态",
            REVOCATION_ZH.get(sig.get("revocation") or "", sig.get("revocation") or "不明"),
        ),
        ("结论", _conclusion(sig)),
    ]
    for message in sig.get("messages") or []:
        rows.append(("说明", str(message)))
    return [{"label": k, "value": v} for k, v in rows]


def signature_heading(index: int, sig: dict[str, Any]) -> str:
    if sig.get("kind") == "document_timestamp":
        tsa = sig.get("timestamp_authority") or {}
        who = "时间戳机构 " + (tsa.get("common_name") or tsa.get("organisation") or "未知")
        return f"文档时间戳 {index}：{who} — {_timestamp_verdict(sig)}"
    who = (sig.get("signer") or {}).get("organisation") or "未知签署方"
    algorithm = f"（{sig['algorithm']}）" if sig.get("algorithm") else ""
    return f"签名 {index}{algorithm}：{who} — {verdict(sig.get('indication'))}"


def report_context(body: dict[str, Any]) -> dict[str, Any]:
    sigs = body.get("signatures") or []
    if not body.get("readable", True):
        detail = f"无法读取该文件：{body.get('message') or '格式错误'}"
    elif not sigs:
        detail = "该文件中没有数字签名。"
    elif body.get("timestamps_only"):
        detail = (
            "该文件没有任何签名，只有文档时间戳：时间戳只证明文件在该时间已经存在，"
            "不代表任何一方签署或认可了它。"
        )
    else:  # one sentence in Chinese; the ETSI codes stay in the JSON, not on the page
        parties = sum(1 for s in sigs if s.get("kind", "signature") == "signature")
        sub = body.get("sub_indication")
        reason = SUB_INDICATION_ZH.get(sub, "") if sub else ""
        if body["indication"] == "TOTAL_PASSED":
            detail = (
                f"全部 {parties} 个签名完好，证书可追溯到受信任的根证书，签名后没有不允许的修改。"
            )
        elif body["indication"] == "TOTAL_FAILED":
            detail = f"有签名未通过验证：{reason or '详见下列各签名的结论'}。"
        else:
            detail = f"无法确定签名是否有效：{reason or '详见下列各签名的结论'}。"
    size = body.get("file_size")
    return {
        "generated_at": _time(body.get("verified_at")),
        "file_name": body.get("file_name") or "（未提供文件名）",
        "file_size": f"{size:,} 字节" if isinstance(size, int) else "不明",
        "file_sha256": body["file_sha256"],
        "file_sm3": body.get("file_sm3") or "",
        "registry_message": (body.get("registry") or {}).get("message") or "未查询",
        "overall": "总体结论：" + _overall(body),
        "overall_detail": detail,
        "no_signatures": "" if sigs else "（无）",
        "signatures": [
            {"heading": signature_heading(i, s), "rows": signature_rows(s)}
            for i, s in enumerate(sigs, start=1)
        ],
    }


def _overall(body: dict[str, Any]) -> str:
    if not body.get("signatures"):
        return "未签名（文件中没有有效签名）"
    if body.get("timestamps_only"):
        return "未签名（仅有时间戳）"
    return verdict(body.get("indication"))


def render_report_docx(body: dict[str, Any]) -> bytes:
    return render_docx(TEMPLATE, report_context(body))


def with_visual_diff(report_pdf: bytes, document: bytes | None) -> bytes:
    """The report followed by the side-by-side pages of what changed after the last signature
    (only when there is something to show)."""
    if document is None:
        return report_pdf
    sheets = diff_pages_pdf(visual_diff(document))
    if sheets is None:
        return report_pdf
    writer = PdfWriter()
    for source in (report_pdf, sheets):
        for page in PdfReader(BytesIO(source)).pages:
            writer.add_page(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def render_sealed_report(body: dict[str, Any], document: bytes | None = None) -> bytes:
    """The sealed report; for a failed ``document``, with the visual diff appended."""
    pdf = get_pool().convert(render_report_docx(body))
    if body.get("indication") == "TOTAL_FAILED":
        pdf = with_visual_diff(pdf, document)
    return seal_with_system(
        pdf, SEAL_FIELD, SEAL_BOX, reason=f"验证报告（文件 SHA-256 {body['file_sha256'][:16]}…）"
    )

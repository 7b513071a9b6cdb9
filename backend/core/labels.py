"""Chinese labels for the words the system records (issue 15.11), in one place: audit actions
and object types as people read them on the audit page and in its Excel export, and a one-line
summary of an event's payload. Domain enums keep their own ``label``; this covers the strings
that cross every domain (the audit log)."""

from __future__ import annotations

import json
from typing import Any

OBJECT_LABELS = {
    "work": "作品",
    "batch": "批次",
    "agreement": "三方协议",
    "user": "用户",
    "organisation": "机构",
    "unit": "推荐单位",
    "document": "文件",
    "disbursement": "拨付",
    "progress_filing": "推进表",
    "certificate": "证书",
    "notice": "公示",
    "verification": "验证",
    "system": "系统",
}

ACTION_LABELS = {
    "agreement.create": "生成三方协议",
    "agreement.sign": "签署三方协议",
    "agreement.finalising": "三方均已签署，待归档",
    "agreement.finalise_failed": "签署后验证未通过",
    "agreement.fully_signed": "三方签署完成",
    "agreement.declined": "拒签",
    "agreement.voided": "作废协议",
    "agreement.archived": "协议归档",
    "agreement.archive_renewed": "归档续期",
    "auth.login": "登录",
    "auth.logout": "退出登录",
    "auth.token": "获取访问令牌",
    "auth.totp_enrolled": "启用动态口令",
    "auth.totp_required_roles": "设置须用动态口令的角色",
    "batch.create": "新建批次",
    "batch.update": "修改批次",
    "batch.reopen": "重新开放批次",
    "batch.notice.publish": "发布公示",
    "batch.selection.confirm": "确认入选名单",
    "ca.root_rolled": "更换根证书",
    "certificate.renew": "续期证书",
    "certificate.revoke": "吊销证书",
    "document.render": "生成文件",
    "electronic_seal.create": "制作电子印章",
    "funding.disbursement_requested": "申请拨付",
    "funding.disbursement_approved": "审批拨付",
    "funding.disbursement_rejected": "退回拨付申请",
    "funding.disbursement_paid": "登记拨付",
    "funding.disbursement_reversed": "冲销",
    "funding.gate_opened": "开启付款节点",
    "funding.review_requested": "申请检查或验收",
    "funding.review_midterm_recorded": "登记中期检查结论",
    "funding.review_acceptance_recorded": "登记审核验收结论",
    "notice.objection.record": "登记异议",
    "notice.objection.resolve": "处理异议",
    "organisation.create": "新建机构",
    "organisation.crypto_profile": "设置密码算法",
    "progress_table.filed": "报送推进表",
    "progress_table.corrected": "更正推进表",
    "quota.exception": "批准名额例外",
    "tsa.rolled": "更换时间戳证书",
    "unit.create": "新建推荐单位",
    "user.create": "新建用户",
    "user.change": "修改用户角色或机构",
    "user.delete": "删除用户",
    "user.disable": "停用用户",
    "user.enable": "启用用户",
    "user.password_reset": "重置密码",
    "user.password_change": "修改密码",
    "work.create": "新建作品",
    "work.update": "修改作品",
    "work.submit": "提交申报",
    "work.recommend": "推荐至总局",
    "work.document.sign": "在线签章",
    "work.document.upload": "上传扫描件",
    "work.unit_review.pass": "初评通过",
    "work.unit_review.reject": "初评不通过",
    "work.unit_review.return": "退回修改",
    "work.second_review.assign": "分配复评专家",
    "work.second_review.score": "复评打分",
    "work.second_review.decide": "复评结论",
    "work.final_review.assign": "分配终评专家",
    "work.final_review.score": "终评打分",
    "work.final_review.decide": "终评决定",
}

# Payload keys worth a person's glance, in the order the summary shows them.
SUMMARY_KEYS = {
    "reason": "理由",
    "title": "作品",
    "number": "编号",
    "party": "签署方",
    "username": "用户名",
    "period": "期间",
    "result": "结论",
    "kind": "类型",
    "version": "版本",
    "opinion": "意见",
    "note": "说明",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def object_label(object_type: str) -> str:
    return OBJECT_LABELS.get(object_type, object_type)


def summary(payload: str | dict[str, Any] | None, limit: int = 80) -> str:
    """A short plain-text line from an event's payload (the JSON stays behind 详情)."""
    if not payload:
        return ""
    data: Any = payload
    if isinstance(payload, str):
        try:
            data = json.loads(payload)
        except ValueError:
            return payload[:limit]
    if not isinstance(data, dict):
        return ""
    parts = []
    for key, label in SUMMARY_KEYS.items():
        value = data.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            parts.append(f"{label}：{value}")
    text = "；".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"

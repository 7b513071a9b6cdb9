"""Helpers for the workflow tests: an open batch, works made through the API, a real PDF."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from backend.workflow.demo import demo_scan_pdf

_numbers = itertools.count(1)

WORK = {
    "title": "测试作品",
    "direction": "everyday_life",
    "genre": "现实题材",
    "episodes": 20,
    "minutes_per_episode": 3.0,
    "synopsis": "一部用于测试的原创微短剧。",
    "filing_number": "浙微剧备字〔2027〕第0001号",
    "director": "导演甲",
    "screenwriter": "编剧乙",
    "producer_name": "制片丙",
    "budget_fen": 100_000_000,
    "requested_fen": 40_000_000,
}


@pytest.fixture
def pdf() -> bytes:
    return demo_scan_pdf()


class Flow:
    """Drives the API as the demo users (bearer tokens)."""

    def __init__(self, client: Any, token_for: Any, pdf: bytes) -> None:
        self.client, self.token_for, self.pdf = client, token_for, pdf
        self.batch_numbers = itertools.count(1)  # each test has a fresh database

    def call(
        self, method: str, url: str, user: str | None, expect: int | None = None, **kw: Any
    ) -> Any:
        headers = self.token_for(user) if user else {}
        r = self.client.request(method, url, headers=headers, **kw)
        if expect is not None:
            assert r.status_code == expect, (method, url, r.status_code, r.text)
        return r

    def open_batch(self, quota: int = 5, **over: Any) -> dict[str, Any]:
        body = {
            "year": 2027,
            "number": next(self.batch_numbers),
            "registration_deadline": "2027-06-05",
            "submission_deadline": "2027-06-15",
            "quota": quota,
            "notice_days": 7,
            **over,
        }
        return self.call("POST", "/api/v1/batches", "admin", 201, json=body).json()

    def work(self, batch_id: int | None, producer: str = "prod-hz", **over: Any) -> dict[str, Any]:
        body = {**WORK, "title": f"测试作品{next(_numbers)}", "batch_id": batch_id, **over}
        return self.call("POST", "/api/v1/works", producer, 201, json=body).json()

    def upload_both(self, work_id: int, producer: str = "prod-hz") -> None:
        for kind in ("application", "copyright-pledge"):
            self.call(
                "POST",
                f"/api/v1/works/{work_id}/documents/{kind}/upload",
                producer,
                201,
                files={"file": (f"{kind}.pdf", self.pdf, "application/pdf")},
            )

    def submitted(self, batch_id: int, producer: str = "prod-hz", **over: Any) -> dict[str, Any]:
        w = self.work(batch_id, producer, **over)
        self.upload_both(w["id"], producer)
        return self.call("POST", f"/api/v1/works/{w['id']}/submit", producer, 200).json()

    def passed(
        self, batch_id: int, producer: str = "prod-hz", unit: str = "unit-zj", **over: Any
    ) -> int:
        w = self.submitted(batch_id, producer, **over)
        self.call(
            "POST",
            f"/api/v1/reviews/unit/{w['id']}",
            unit,
            200,
            json={"decision": "pass", "opinion": "符合条件"},
        )
        return int(w["id"])

    def recommended(
        self, batch_id: int, producer: str = "prod-hz", unit: str = "unit-zj", **over: Any
    ) -> int:
        wid = self.passed(batch_id, producer, unit, **over)
        self.call("POST", f"/api/v1/works/{wid}/recommend", unit, 200, json={"opinion": "推荐"})
        return wid


@pytest.fixture
def flow(client: Any, token_for: Any, pdf: bytes) -> Flow:
    return Flow(client, token_for, pdf)


SCORES = {"ideology": 28, "artistry": 26, "production": 18, "reach": 17}

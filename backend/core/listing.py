"""Lists that grow (作品、申报、协议、拨付): one reading of search, filters, sort and page from the
query string, and one paged query, so every list page behaves the same way.

Unknown filter names, sort keys and bad page numbers are ignored (a hand-edited or stale link
shows the first page of the plain list instead of an error page); the search text is cut to
a sane length before it reaches SQL, where it is a bound LIKE parameter with its wildcards
escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from math import ceil
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from sqlalchemy import func
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")

PAGE_SIZE = 20
MAX_SEARCH = 100
MAX_FILTER = 60
MAX_PAGE = 100_000


@dataclass(frozen=True)
class ListParams:
    q: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    sort: str = ""
    desc: bool = True
    page: int = 1
    page_size: int = PAGE_SIZE

    def query_string(self, **changes: Any) -> str:
        """This list's query string with ``changes`` (e.g. page=2, sort="title")."""
        params = replace(self, **changes) if changes else self
        pairs: dict[str, Any] = {k: v for k, v in params.filters.items() if v}
        if params.q:
            pairs["q"] = params.q
        if params.sort:
            pairs["sort"] = ("-" if params.desc else "") + params.sort
        if params.page > 1:
            pairs["page"] = params.page
        return urlencode(pairs)

    def sorted_by(self, key: str) -> str:
        """The link of a column header: sort by ``key``, or flip the order if already."""
        desc = not self.desc if self.sort == key else False
        return self.query_string(sort=key, desc=desc, page=1)

    def filter_int(self, name: str) -> int | None:
        value = self.filters.get(name, "")
        return int(value) if value.isdigit() and len(value) < 10 else None


def list_params(
    query: Mapping[str, str],
    *,
    filters: Sequence[str] = (),
    sorts: Sequence[str] = (),
    default_sort: str = "",
    default_desc: bool = True,
    defaults: Mapping[str, str] | None = None,
) -> ListParams:
    """Read ``q``, the named ``filters``, ``sort`` (``key`` or ``-key``, one of ``sorts``) and
    ``page`` from a request's query parameters. ``defaults`` fill filters the link does not
    name at all (an explicit empty value means 全部)."""
    fallback = defaults or {}
    chosen = {
        name: (str(query[name]).strip() if name in query else fallback.get(name, ""))[:MAX_FILTER]
        for name in filters
    }
    raw_sort = str(query.get("sort", "")).strip()
    desc = raw_sort.startswith("-")
    sort = raw_sort.lstrip("-")
    if sort not in sorts:
        sort, desc = default_sort, default_desc
    page_text = str(query.get("page", "1")).strip()
    page = int(page_text) if page_text.isdigit() and len(page_text) < 7 else 1
    return ListParams(
        q=str(query.get("q", "")).strip()[:MAX_SEARCH],
        filters=chosen,
        sort=sort,
        desc=desc,
        page=min(max(page, 1), MAX_PAGE),
    )


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match with ``%`` and ``_`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped.lower()}%", escape="\\")


@dataclass
class Paged(Generic[T]):
    items: list[T]
    total: int
    params: ListParams

    @property
    def page(self) -> int:
        return self.params.page

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.params.page_size))

    def link(self, page: int) -> str:
        return self.params.query_string(page=page)


def paginate(
    session: Session,
    query: SelectOfScalar[T],
    params: ListParams,
    sort_columns: Mapping[str, Any],
    tie_breaker: Any,
) -> Paged[T]:
    """Count the filtered rows, then fetch one page in the chosen order (``tie_breaker``, a
    unique column, keeps the order stable across pages). A page past the end shows the last."""
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    pages = max(1, ceil(total / params.page_size))
    if params.page > pages:
        params = replace(params, page=pages)
    column = sort_columns.get(params.sort)
    order = []
    if column is not None:
        order.append(column.desc() if params.desc else column.asc())
    order.append(tie_breaker.desc() if params.desc else tie_breaker.asc())
    rows = session.exec(
        query.order_by(*order).offset((params.page - 1) * params.page_size).limit(params.page_size)
    ).all()
    return Paged(list(rows), total, params)

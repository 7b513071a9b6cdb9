"""In-process domain events: a lower domain announces what happened, higher domains react.

Dependencies run one way (backend/ARCHITECTURE.md). When a lower domain's change must cause
work in a higher one (an agreement becomes fully signed → funding opens its first gate), the
lower domain publishes an event and the higher one subscribes at start-up
(``backend.wiring.install``). Handlers run synchronously, in the publisher's session and
transaction: if a handler fails, the whole change rolls back, exactly as a direct call would.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import Session

E = TypeVar("E")
Handler = Callable[[Session, Any], None]

_handlers: defaultdict[type, list[Handler]] = defaultdict(list)
_installed = False


def subscribe(event_type: type[E], handler: Callable[[Session, E], None]) -> None:
    """Call ``handler(session, event)`` for every published ``event_type`` (once per handler)."""
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def publish(session: Session, event: object) -> None:
    """Run every subscriber of ``type(event)`` now, in ``session``'s transaction."""
    if not _installed:
        # A process that never wired its subscribers would silently skip their work (a fully
        # signed agreement whose funding gate never opens): refuse instead.
        raise RuntimeError("event subscribers are not installed: call backend.wiring.install()")
    for handler in _handlers[type(event)]:
        handler(session, event)


def mark_installed() -> None:
    global _installed
    _installed = True

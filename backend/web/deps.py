"""The signed-in user for pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backend.auth.deps import CurrentAuth
from backend.auth.models import User


async def page_user(auth: CurrentAuth, request: Request) -> User:
    """The signed-in user. The layout gets a detached copy, so that an error page can still show
    who is signed in after the request's session was rolled back and closed."""
    user = auth[0]
    request.state.user = User.model_validate(user.model_dump())
    return user


PageUser = Annotated[User, Depends(page_user)]

"""API authentication: a unit's bearer token, or the signed-in session (with CSRF)."""

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from fenghuo.org.policy import Principal, principal_for, principal_for_token
from fenghuo.org.services import token_authenticate


class UnitTokenAuth(HttpBearer):
    """`Authorization: Bearer fh_<prefix>_<secret>`; acts as the token's unit."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = token_authenticate(token)
        if api_token is None:
            return None
        request.principal = principal_for_token(api_token)
        return request.principal


class StaffSessionAuth(SessionAuth):
    """The web session of a signed-in person; ninja enforces CSRF on unsafe methods."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        request.principal = principal_for(user)
        return request.principal


def request_principal(request: HttpRequest) -> Principal:
    return request.principal  # set by whichever auth above succeeded


API_AUTH = [UnitTokenAuth(), StaffSessionAuth()]

"""Who is using the console and whether a request may change anything.

* :data:`SignedIn` — the signed-in user (:class:`ConsoleUser`) of a request: its session
  cookie's token re-checked on every request through the API's token authentication.
* :func:`csrf_checked` — refuses POST/PUT/PATCH/DELETE without the session's CSRF token
  (form field ``csrf`` or header ``X-CSRF-Token``); every page route gets it from the
  router, so a page cannot forget it.
* :class:`SecurityHeaders` — CSP and the other security headers on every ``/ui`` answer.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from starlette.datastructures import ImmutableMultiDict, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.access import Grant, Role
from domain.errors import PermissionDeniedError
from infrastructure.auth import TokenService
from infrastructure.console.sessions import ConsoleSessions, Session
from infrastructure.errors import AuthenticationError
from infrastructure.http.problems import BadRequestError
from infrastructure.http.services import services_of
from infrastructure.settings import DEFAULTS

#: The session cookie (HttpOnly, SameSite=Strict, Path=/ui).
COOKIE = "cc_console"
#: The sign-in form's double-submit cookie, before any session exists.
LOGIN_COOKIE = "cc_console_login"
CSRF_FIELD, CSRF_HEADER = "csrf", "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
#: Sent with every console answer; pages (not static files) also get ``no-store``.
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SignInRequiredError(AuthenticationError):
    """No live session: the browser is sent to the sign-in page."""


class CsrfRefusedError(PermissionDeniedError):
    """A state-changing request without the right CSRF token, or from another site (403)."""


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in user: the grant of its token (role, scopes) and its session."""

    grant: Grant
    session: Session

    @property
    def name(self) -> str:
        """The token's name: the actor of every change made through the console."""
        return self.grant.name

    @property
    def csrf(self) -> str:
        """The token every form and htmx request of this session must carry."""
        return self.session.csrf

    @property
    def badge(self) -> str:
        """Role and scopes as the header shows them, e.g. ``writer · prod:router``."""
        scopes = ", ".join(_scope_text(s.environment, s.areas) for s in self.grant.scopes)
        return f"{self.grant.role.label} · {scopes or 'every environment'}"

    def can(self, role: Role, environment: str, area: str | None = None) -> bool:
        """True when the user has ``role`` in ``environment``/``area`` (``None``: some
        area): use it to leave out write controls the server would refuse anyway."""
        return self.grant.allows(role, environment, area, any_area=area is None)


def _scope_text(environment: str, areas: frozenset[str] | None) -> str:
    return environment if areas is None else f"{environment}:{','.join(sorted(areas))}"


#: Failed sign-ins a minute from one address before the form answers 429.
DEFAULT_SIGNIN_FAILURES = DEFAULTS.console_signin_failures


class LoginThrottle:
    """At most ``limit`` failed sign-ins per client address in ``window`` seconds."""

    def __init__(self, *, limit: int = DEFAULT_SIGNIN_FAILURES, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, client: str) -> bool:
        """True while ``client`` has used up its failures."""
        with self._lock:
            return len(self._recent(client, time.monotonic())) >= self.limit

    def failed(self, client: str) -> None:
        """Count one failed sign-in of ``client``."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 10_000:  # bounded memory under a spray of addresses
                self._failures.clear()
            self._recent(client, now).append(now)

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


@dataclass(frozen=True)
class ConsoleState:
    """What the console keeps for the app's lifetime."""

    sessions: ConsoleSessions
    throttle: LoginThrottle


def console_of(request: Request) -> ConsoleState:
    """The console's sessions and sign-in throttle."""
    return services_of(request).console


def tokens_of(request: Request) -> TokenService:
    """The app's token service (the API's)."""
    return services_of(request).tokens


def signed_in(request: Request) -> ConsoleUser:
    """The signed-in user, its session marked as used.

    Raises :class:`SignInRequiredError` without a live session, and also when the session's
    token was revoked, replaced or expired (its sessions end then).
    """
    cached: ConsoleUser | None = getattr(request.state, "console_user", None)
    if cached is not None:
        return cached
    sessions = console_of(request).sessions
    cookie = request.cookies.get(COOKIE)
    session = sessions.find(cookie) if cookie else None
    if session is None:
        raise SignInRequiredError("sign in to continue")
    try:
        grant = tokens_of(request).grant_of(session.token_name, session.token_hash)
    except AuthenticationError as exc:
        sessions.end_token(session.token_name)
        raise SignInRequiredError(f"signed out: {exc}") from None
    user = ConsoleUser(grant, session)
    request.state.console_user = user
    request.state.actor = grant.name
    return user


#: The signed-in user of a request (see :func:`signed_in`).
SignedIn = Annotated[ConsoleUser, Depends(signed_in)]


#: Fields of a posted form: ``form.get("name")`` (``None`` when absent), ``form.getlist``.
FormFields = ImmutableMultiDict[str, str]


async def form_of(request: Request) -> FormFields:
    """The request's url-encoded form fields (read once, then kept on the request);
    empty for any other body. Bytes that are not UTF-8 become U+FFFD. Raises
    :class:`BadRequestError` for more than 10,000 fields."""
    cached: FormFields | None = getattr(request.state, "console_form", None)
    if cached is not None:
        return cached
    fields: FormFields = ImmutableMultiDict()
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = (await request.body()).decode("utf-8", "replace")
        try:
            pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=10_000)
        except ValueError:
            raise BadRequestError("the form has too many fields") from None
        fields = ImmutableMultiDict(pairs)
    request.state.console_form = fields
    return fields


#: The url-encoded form of a request (see :func:`form_of`): ``form.get("name")``,
#: ``form.getlist("name")``.
Form = Annotated[FormFields, Depends(form_of)]


def same_site(request: Request) -> bool:
    """False when the browser says the request came from another site (``Sec-Fetch-Site``)."""
    return request.headers.get("sec-fetch-site", "same-origin") in {"same-origin", "none"}


async def sent_csrf(request: Request) -> str:
    """The CSRF token a request carries: header ``X-CSRF-Token``, else form field ``csrf``."""
    return request.headers.get(CSRF_HEADER) or (await form_of(request)).get(CSRF_FIELD) or ""


def csrf_matches(sent: str, expected: str) -> bool:
    """Constant-time comparison; an empty token never matches."""
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


async def csrf_checked(request: Request, user: SignedIn) -> ConsoleUser:
    """The signed-in user; for POST/PUT/PATCH/DELETE also the proof that the request
    came from a console page. Raises :class:`CsrfRefusedError` (403, nothing done) when the
    CSRF token is missing or wrong or the browser reports another site."""
    if request.method in SAFE_METHODS:
        return user
    if not same_site(request) or not csrf_matches(await sent_csrf(request), user.csrf):
        raise CsrfRefusedError("this form expired or did not come from this console")
    return user


def secure(headers: MutableHeaders, *, static: bool = False) -> None:
    """Set :data:`SECURITY_HEADERS` and ``Cache-Control`` (``no-store``; ``no-cache`` for
    a ``static`` file) on an answer's ``headers``."""
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value
    headers["Cache-Control"] = "no-cache" if static else "no-store"


class SecurityHeaders:
    """ASGI middleware :func:`secure`-ing every answer (an answer made outside the
    console's middleware, such as a 500 page, calls :func:`secure` itself)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(f"{scope.get('root_path', '')}/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                secure(MutableHeaders(scope=message), static=static)
            await send(message)

        await self.app(scope, receive, send_with_headers)

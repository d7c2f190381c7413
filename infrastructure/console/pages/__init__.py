"""One module per page group. Every module here with a module-level ``router``
(``fastapi.APIRouter``) is included by :func:`infrastructure.console.console_app`, in
module-name order, behind sign-in and the CSRF check; ``public_router`` (the sign-in page
only) is included without them."""

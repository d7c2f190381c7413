"""What every console page must satisfy under its Content-Security-Policy: no inline
script, no inline event handler, no inline style, no ``javascript:`` URL."""

from __future__ import annotations

from html.parser import HTMLParser

from infrastructure.console.security import CSP


class _Inline(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value or "" for name, value in attrs}
        if tag == "script":
            self._in_script = True
            if not names.get("src"):
                self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in names.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"<{tag} style=...>")
            if name in {"href", "src", "action", "formaction"} and value.strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"<{tag} {name}=javascript:...>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("script text inside <script>")


def inline_code(html: str) -> list[str]:
    """Everything in ``html`` the console's CSP would block (empty when clean)."""
    parser = _Inline()
    parser.feed(html)
    parser.close()
    return parser.problems


def assert_console_page(answer: object) -> None:
    """``answer`` (an httpx response) is HTML under the console's CSP and headers, with
    nothing inline the CSP would block."""
    headers = answer.headers  # type: ignore[attr-defined]
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert headers["content-type"].startswith("text/html")
    assert inline_code(answer.text) == []  # type: ignore[attr-defined]

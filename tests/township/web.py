"""The console through Django's test client as a browser would use it: CSRF enforced, forms read from
the page and posted back with the fields the page has (hidden ones included), changes on top."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _Forms(HTMLParser):
    """Every <form>: its attributes and the values a browser would submit (no button pressed)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._option: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"attrs": a, "fields": {}})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "image", "file"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    fields.setdefault(a["name"], []).append(a.get("value") or "on")
            else:
                fields.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            fields.setdefault(a["name"], [])
        elif tag == "option" and self._select:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
            if self._option["selected"]:
                fields[self._select].append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            fields[a["name"]] = [""]

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea][0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def csrf(client: Any) -> str:
    return str(client.cookies["csrftoken"].value)


def login(client: Any, username: str, password: str) -> Any:
    """Log in through the login page (CSRF token from the form); the response of the POST."""
    page = client.get("/login/")
    fields = {k: v[0] for k, v in forms(page.content.decode())[0]["fields"].items()}
    fields |= {"username": username, "password": password}
    return client.post("/login/", fields)


def submit(client: Any, url: str, changes: dict[str, Any], *, form_id: str | None = None,
           drop: tuple[str, ...] = ()) -> Any:
    """GET `url`, take its post form (or the one with `form_id`), apply `changes`, POST it back.

    A change to a list sets a multi-valued field; None removes a field (an unticked box).
    """
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    found = [f for f in forms(page.content.decode()) if f["attrs"].get("method", "get").lower() == "post"
             and (form_id is None or f["attrs"].get("id") == form_id)]
    assert found, f"no post form on {url}"
    data: dict[str, Any] = dict(found[-1]["fields"])
    for name in drop:
        data.pop(name, None)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value if isinstance(value, list) else [value]
    return client.post(url, data)

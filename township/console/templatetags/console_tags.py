"""Template filters: the feed's reason codes in the page's language."""

from __future__ import annotations

from django import template

from township.console.labels import REASONS

register = template.Library()


@register.filter
def reason(code: str) -> str:
    return str(REASONS.get(code, code))

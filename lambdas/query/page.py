"""``GET /``: the query page (``page/``), one HTML document with its style and script
inline, so it needs no build step and no other route.

The page is static: it holds no data, only the region its script signs requests for. Its
Content-Security-Policy allows exactly its own inline style and script (by SHA-256) and
requests to its own origin (``GET /query``, which the script signs with SigV4), so
nothing injected into it could run or send the credentials an analyst pastes elsewhere.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

PAGE_DIR = Path(__file__).with_name("page")
# {{style}}, {{script}}, {{config}} in index.html, each replaced once, in one pass.
_PLACEHOLDER = re.compile(r"\{\{(style|script|config)\}\}")


@dataclass(frozen=True)
class Page:
    html: str
    headers: dict[str, str]


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@functools.cache
def render(region: str) -> Page:
    """The page for a function in ``region`` and the headers it is served with."""
    parts = {
        "style": (PAGE_DIR / "page.css").read_text(),
        "script": (PAGE_DIR / "page.js").read_text(),
        # JSON in a data block, "<", ">" and "&" escaped: no value can end the element or
        # open a comment in it.
        "config": json.dumps({"region": region}).replace("<", "\\u003c")
        .replace(">", "\\u003e").replace("&", "\\u0026"),
    }
    html = _PLACEHOLDER.sub(lambda match: parts[match.group(1)],
                            (PAGE_DIR / "index.html").read_text())
    policy = "; ".join((
        "default-src 'none'", f"script-src {_sha256_source(parts['script'])}",
        f"style-src {_sha256_source(parts['style'])}", "connect-src 'self'",
        "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"))
    return Page(html, {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    })


__all__ = ["Page", "render"]

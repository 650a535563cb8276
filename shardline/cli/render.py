"""Rows as a rich table, CSV or JSON text: the one renderer every command prints with."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table


def render_rows(rows: list[dict[str, Any]], fmt: str, *, title: str = "") -> str:
    """Rows as a rich table, CSV or JSON text."""
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    columns = list(rows[0]) if rows else ["minute", "count", "mean", "min", "max"]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    table = Table(title=title or None)
    for column in columns:
        numeric = all(_is_number(row[column]) for row in rows)
        table.add_column(column, justify="right" if numeric else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(_format_cell(row[c]) for c in columns))
    # Tables take the width they need (they do not expand), so cells never wrap.
    capture = Console(file=io.StringIO(), width=400, force_terminal=False)
    capture.print(table)
    return capture.file.getvalue()  # type: ignore[attr-defined]


def _is_number(value: Any) -> bool:
    if isinstance(value, int | float):
        return True
    try:
        Decimal(str(value))
    except ArithmeticError:
        return False
    return True


def _format_cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


__all__ = ["render_rows"]

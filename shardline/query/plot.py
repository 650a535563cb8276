"""A query's result as a chart: one panel per metric, the mean as a line over a min-max
band (one bar per period, so a gap stays a gap), on a shared UTC time axis with concise
date labels. matplotlib draws off-screen (the Agg backend), so it works on a server or in
CI without a display."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from shardline.query.errors import QueryError
from shardline.query.model import RESOLUTION_SECONDS, QueryResult, Row

PANEL_HEIGHT_IN = 2.6
FIGURE_WIDTH_IN = 10.0
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")


def figure_of(result: QueryResult) -> Any:
    """The matplotlib Figure of ``result``: panel ``i`` is ``result.metrics[i]``, its line
    the means (at each period's middle), its bars each period's min-max. QueryError when
    there is nothing to draw."""
    if not result.rows:
        raise QueryError(f"nothing to plot: no {', '.join(result.metrics)} data for "
                         f"{result.selection} in the range")
    from matplotlib import dates
    from matplotlib.figure import Figure

    # A bare Figure renders with Agg and never touches pyplot's global state or a display.
    figure = Figure(figsize=(FIGURE_WIDTH_IN, PANEL_HEIGHT_IN * len(result.metrics) + 0.8),
                    layout="constrained")
    axes = figure.subplots(len(result.metrics), 1, sharex=True, squeeze=False)[:, 0]
    width = timedelta(seconds=RESOLUTION_SECONDS[result.resolution])
    for panel, metric in zip(axes, result.metrics, strict=True):
        _draw_metric(panel, result.series(metric), width)
        panel.set_ylabel(metric)
    # The whole range asked for, from the start of its first period (one period alone
    # would otherwise get an axis of years).
    starts = [row.time for row in result.rows]
    axes[-1].set_xlim(min(*starts, result.since), max(result.until, max(starts) + width))
    locator = dates.AutoDateLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    axes[-1].set_xlabel("time (UTC)")
    figure.suptitle(f"{result.selection} · {result.resolution} · "
                    f"{result.since:%Y-%m-%d %H:%M} to {result.until:%Y-%m-%d %H:%M} UTC")
    return figure


def _draw_metric(panel: Any, rows: list[Row], width: timedelta) -> None:
    """Each period's min-max as a bar spanning the period, its mean as a point at the
    period's middle, joined by a line."""
    panel.bar([row.time for row in rows], [row.max - row.min for row in rows],
              bottom=[row.min for row in rows], width=width, align="edge", alpha=0.25,
              linewidth=0, label="min-max")
    panel.plot([row.time + width / 2 for row in rows], [row.mean for row in rows],
               marker="." if len(rows) < 60 else None, label="mean")
    panel.grid(True, alpha=0.3)
    panel.legend(loc="upper left", fontsize="small")


def save_plot(result: QueryResult, path: str | Path) -> Path:
    """Draw ``result`` to ``path`` (.png, .svg or .pdf) and return the path."""
    target = Path(path)
    if target.suffix.lower() not in IMAGE_SUFFIXES:
        raise QueryError(f"cannot plot to {target}: the file must end in "
                         f"{', '.join(IMAGE_SUFFIXES)}")
    if not target.parent.is_dir():
        raise QueryError(f"cannot plot to {target}: no directory {target.parent}")
    figure = figure_of(result)
    try:
        figure.savefig(target, dpi=120)
    except OSError as exc:
        raise QueryError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


__all__ = ["figure_of", "save_plot"]

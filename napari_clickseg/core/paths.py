"""Per-user folders of napari-clickseg (fine-tuned models, cached features).

``$CLICKSEG_HOME`` (if set) holds everything, e.g. for tests or a shared lab drive; otherwise
the platform's user data / cache folders (platformdirs).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["user_dir"]


def user_dir(kind: str, cache: bool = False) -> Path:
    """Per-user folder ``kind`` of napari-clickseg (``$CLICKSEG_HOME/[cache/]<kind>`` if that is set).

    Args:
        kind: sub-folder name, e.g. ``"models"`` or ``"features"``.
        cache: the platform's cache location (disposable data) instead of its data location.
    """
    home = os.environ.get("CLICKSEG_HOME")
    if home:
        return Path(home) / ("cache" if cache else "") / kind
    from platformdirs import user_cache_dir, user_data_dir

    base = user_cache_dir if cache else user_data_dir
    return Path(base("napari-clickseg", appauthor=False)) / kind

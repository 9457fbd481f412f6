"""The current object of a front end: the slice its session holds, the object it edits, and how
it is committed or undone.

A front end (the napari annotator, a script) segments one object at a time with one
``InteractiveSession`` and writes finished objects into an ``AnnotationDocument``. Between the
two sit a few decisions that are the same whatever the front end, and live here (no Qt, no napari):

* **Slices.** The session holds one slice (``index``, leading coordinates: ``()`` for 2D,
  ``(z,)`` for a stack). Leaving a slice with an unfinished object keeps its history
  (``SliceHistories``), coming back restores it.
* **Editing.** ``start_edit`` makes an existing object the current object (its mask is the
  session's mask prompt, ``InteractiveSession.start_from_mask``) and remembers which one
  (``Editing``).
* **Commit.** An edited object of the document is *replaced* on its slice
  (``AnnotationDocument.replace``); anything else is *added* (``AnnotationDocument.commit``):
  a new object, or more pixels of a given id. ``commit`` says what happened (``Commit``) and
  never changes the session: the front end resets it when the object is written.
* **Undo/redo.** The current object's clicks first; with none left (or on another slice) the
  document's changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable

import numpy as np

from .document import AnnotationDocument
from .labels import Edit
from .session import InteractiveSession, SliceHistories

__all__ = ["CurrentObject", "Editing", "Commit", "COMMIT_KINDS"]

#: what ``CurrentObject.commit`` did: the object replaced / left as it was / added; or nothing
#: written: no slice held, empty mask, no document to add to, all pixels under other objects
COMMIT_KINDS = ("replaced", "unchanged", "committed", "nothing", "empty", "no document", "covered")


@dataclass(frozen=True)
class Editing:
    """The existing object the current object started from (``CurrentObject.start_edit``)."""

    label_id: int
    index: tuple[int, ...]
    in_target: bool  # True: commit replaces it; False (another layer's object): commit adds it as new


@dataclass(frozen=True)
class Commit:
    """The outcome of ``CurrentObject.commit``.

    Attributes:
        kind: one of ``COMMIT_KINDS``.
        label_id: the id written ("committed"), replaced or left unchanged; else None.
        index: the slice (leading coordinates).
    """

    kind: str
    label_id: int | None = None
    index: tuple[int, ...] = ()

    @property
    def done(self) -> bool:
        """Whether the object is finished (written, or an edit that changed nothing)."""
        return self.kind in ("replaced", "unchanged", "committed")


class CurrentObject:
    """The object being segmented by one session (see the module docstring).

    Args:
        session: the session (``use`` swaps it later), or None before a model is chosen.
        max_slices: unfinished objects of slices left that are kept for coming back.

    Attributes:
        session: the ``InteractiveSession`` (None until one is given).
        index: the slice the session holds (None: none yet, or the image changed).
        editing: the existing object being edited, or None.
        slices: the histories of slices left with an unfinished object.
    """

    def __init__(self, session: InteractiveSession | None = None, max_slices: int = 16) -> None:
        self.session = session
        self.index: tuple[int, ...] | None = None
        self.editing: Editing | None = None
        self.slices = SliceHistories(max_slices)

    # -- session and slices ----------------------------------------------------------------
    def use(self, session: InteractiveSession) -> None:
        """Segment with ``session`` from now on: no slice held, no edit, no kept history."""
        self.session = session
        self.drop()

    def drop(self) -> None:
        """Forget the slice, the edit and every kept history (the image is gone)."""
        self.index, self.editing = None, None
        self.slices.clear()

    def forget_slices(self) -> None:
        """Forget the slice held and the kept histories (the image's data changed): the next
        ``hold`` encodes again. The edit, if any, is kept."""
        self.index = None
        self.slices.clear()

    def holds(self, index: tuple[int, ...]) -> bool:
        """Whether the session holds slice ``index``."""
        return self.session is not None and self.session.has_image and self.index == tuple(index)

    def hold(self, index: tuple[int, ...], image: Any, key: Hashable | None = None) -> None:
        """Make the session hold slice ``index`` (``image``, feature key ``key``).

        The unfinished object of the slice held until now is kept (``SliceHistories.leave``);
        the one kept for ``index``, if any, comes back (refused when the slice's data changed).

        Raises:
            RuntimeError: no session.
            ValueError, TypeError: the slice cannot be segmented (``InteractiveSession.set_image``);
                no slice is held then.
        """
        if self.session is None:
            raise RuntimeError("no session: choose a model first")
        index = tuple(index)
        if self.index is not None:
            self.slices.leave(self.index, self.session)
        try:
            self.session.set_image(image, key=key)
        except (ValueError, TypeError):
            self.index = None
            raise
        self.index = index
        self.slices.come_back(index, self.session)

    # -- editing ---------------------------------------------------------------------------
    @property
    def editing_here(self) -> bool:
        """Whether the current object is an edit started on the slice held."""
        return self.editing is not None and self.editing.index == self.index

    @property
    def edited_id(self) -> int | None:
        """The id of the document's object being edited (None: no edit, or another layer's)."""
        return self.editing.label_id if (self.editing is not None and self.editing.in_target) else None

    def start_edit(self, label_id: int, mask: np.ndarray, in_target: bool) -> Editing:
        """Make an existing object (HxW bool ``mask`` on the slice held) the current object.

        Args:
            label_id: its id.
            mask: its pixels on the slice held.
            in_target: whether it is an object of the document ``commit`` writes into (then
                it is replaced), or of another source (then it is added as a new object).

        Raises:
            RuntimeError: no slice held.
            ValueError: ``mask`` does not fit the slice (``start_from_mask``).
        """
        if self.session is None or self.index is None or not self.session.has_image:
            raise RuntimeError("no slice held: hold a slice before editing one of its objects")
        self.session.start_from_mask(mask)
        self.editing = Editing(int(label_id), self.index, bool(in_target))
        return self.editing

    def reset(self) -> None:
        """Forget the current object (clicks, box, mask prompt, edit); the slice stays held."""
        if self.session is not None and self.session.has_image:
            self.session.reset()
        self.editing = None

    # -- commit, undo ----------------------------------------------------------------------
    def commit(self, document: AnnotationDocument | None, label_id: int | None = None, *, overwrite: bool = False,
               model: str = "", create: Callable[[], AnnotationDocument | None] | None = None) -> Commit:
        """Write the current object into ``document``; the session is left as it is.

        An edit of the document's object (``editing_here`` and ``in_target``) replaces that
        object's pixels on the slice (``AnnotationDocument.replace``); anything else adds the
        mask as ``label_id`` (None: the next free id). Clicks, box and ``model`` are recorded.

        Args:
            document: the document, or None when there is none yet.
            label_id: the id to add the mask as (ignored for a replace).
            overwrite: take pixels from other objects.
            model: the model name recorded.
            create: called for a document when a mask is to be added and ``document`` is None
                (e.g. the annotator creates its target layer); None: nothing is written.

        Raises:
            ValueError: the document refuses the id or mask (``AnnotationDocument.commit``).
        """
        s = self.session
        if s is None or self.index is None or not s.has_image:
            return Commit("nothing")
        mask, index = s.mask, self.index
        kw = dict(clicks=s.clicks, box=s.box, model=model, overwrite=overwrite)
        if self.editing_here and self.editing.in_target and document is not None:
            lid = self.editing.label_id
            changed = document.replace(lid, mask, index, **kw)
            return Commit("replaced" if changed else "unchanged", lid, index)
        if not mask.any():
            return Commit("empty", None, index)
        if document is None and create is not None:
            document = create()
        if document is None:
            return Commit("no document", None, index)
        lid = document.commit(mask, index, label_id or None, **kw)
        return Commit("covered", None, index) if lid is None else Commit("committed", lid, index)

    def step(self, which: str, document: AnnotationDocument | None, shown: tuple[int, ...] | None) -> tuple[str, Edit | None]:
        """Undo or redo one step (``which``: "undo" or "redo").

        The current object's click, box or edit step when the session holds the slice shown
        (``shown``) and has one; otherwise the document's newest change.

        Returns:
            ("click", None), ("document", the ``Edit`` undone or redone) or ("nothing", None).
        """
        if which not in ("undo", "redo"):
            raise ValueError(f"which must be 'undo' or 'redo', got {which!r}")
        s = self.session
        if s is not None and shown is not None and self.holds(shown) and getattr(s, f"can_{which}"):
            getattr(s, which)()
            return "click", None
        if document is not None and getattr(document, f"can_{which}"):
            return "document", getattr(document, which)()
        return "nothing", None

"""Keyboard shortcuts of the annotator: one table, bound on the viewer and on the prompt layers.

napari >= 0.5 gives a selected layer's keymap priority over the viewer's (napari/napari#7302),
so every shortcut is bound on the viewer *and* on each layer the annotator owns, and
(``target_link.TargetLink``) on its target Labels layer, whose own Ctrl-Z would undo commits.
Keys avoid napari's defaults (V, P, S, Z, R, ...) and macOS-invalid strings (napari-nninteractive #6).

Mouse: a plain click adds a prompt; Ctrl-Shift-click (``EDIT_MODIFIERS``; Cmd-Shift-click on
macOS, where napari's "Control" is the Cmd key) edits the object under the mouse. Alt (Option)
is not free: napari >= 0.5 uses Alt-drag for its zoom box, Alt-double-click to zoom out and
Alt-wheel to step through layers, and many Linux window managers move windows on Alt-drag;
Meta is the Windows/Super key (taken by desktops) and macOS's Ctrl, whose click is a right click.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

__all__ = ["SHORTCUTS", "EDIT_MODIFIERS", "MOUSE", "shortcut_help", "mouse_action", "bind_shortcuts", "unbind_shortcuts"]

#: modifiers of the click that edits an existing object (all of them held)
EDIT_MODIFIERS = frozenset({"Control", "Shift"})

#: (mouse gesture, description)
MOUSE: tuple[tuple[str, str], ...] = (
    ("left click", "add a positive click (negative after N)"),
    ("right click, Ctrl-click or Shift-click", "add a negative click (positive after N)"),
    ("Ctrl-Shift-click (Cmd-Shift on macOS)", "edit the object under the mouse (target layer, or the 'edit objects of' layer): "
     "its mask becomes the current object, the next clicks correct it, Commit replaces it"),
)

#: (napari key string, action name on the annotator widget, description)
SHORTCUTS: tuple[tuple[str, str, str], ...] = (
    ("Shift-C", "commit", "commit the current object into the target Labels layer (next free id)"),
    ("Shift-X", "reset_object", "reset the current object (clear its clicks and box)"),
    ("Control-Z", "undo", "undo the last click (or the last commit / propagation / deletion / napari brush stroke on the target if no click is left)"),
    ("Control-Shift-Z", "redo", "redo the last undone click, commit, propagation, deletion or stroke"),
    ("N", "toggle_polarity", "toggle what a left click adds: positive <-> negative"),
    ("Shift-D", "delete_object", "delete the object being edited (else the one selected in the object list); Ctrl-Z brings it back"),
    ("Shift-F", "propagate_forward", "propagate the committed object to the following slices"),
    ("Shift-B", "propagate_backward", "propagate the committed object to the preceding slices"),
)


def mouse_action(modifiers: Iterable[Any], button: int, positive_click: bool) -> tuple[str, bool]:
    """What a mouse click (not a drag) does, as the ``MOUSE`` table says.

    Args:
        modifiers: the modifier keys held (napari's names: "Control", "Shift", ...).
        button: napari's mouse button (1 left, 2 right).
        positive_click: what a plain left click adds now (toggled by N).

    Returns:
        ("edit", False) for an edit click (``EDIT_MODIFIERS`` all held), else ("click",
        is_positive): a left click adds ``positive_click``'s kind, a right click or one with
        Control or Shift held the opposite.
    """
    mods = {str(m) for m in modifiers}
    if EDIT_MODIFIERS <= mods:
        return "edit", False
    return "click", positive_click != (button == 2 or bool(mods & EDIT_MODIFIERS))


def shortcut_help() -> str:
    """Plain-text table of the shortcuts (widget tooltip)."""
    lines = [f"{gesture}: {desc}" for gesture, desc in MOUSE]
    lines += [f"{key:<16} {desc}" for key, _, desc in SHORTCUTS]
    return "\n".join(lines)


def _callback(widget: Any, action: str) -> Callable[[Any], None]:
    def cb(_target: Any) -> None:
        getattr(widget, action)()

    cb.__name__ = f"clickseg_{action}"
    return cb


def bind_shortcuts(widget: Any, targets: Iterable[Any]) -> None:
    """Bind every shortcut on each target (a viewer or a layer), overwriting existing keys."""
    for target in targets:
        for key, action, _ in SHORTCUTS:
            target.bind_key(key, _callback(widget, action), overwrite=True)


def unbind_shortcuts(targets: Iterable[Any]) -> None:
    """Remove the annotator's bindings from the targets (e.g. when the widget closes)."""
    for target in targets:
        for key, _, _ in SHORTCUTS:
            try:
                target.bind_key(key, None)
            except (KeyError, ValueError, TypeError):
                pass

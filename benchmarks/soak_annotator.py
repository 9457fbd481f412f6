"""Seeded random-action soak of the annotator in a headless napari viewer, against a shadow model.

A stream of random user actions (clicks of both polarities from the widget and from napari's own
point tool, bursts of clicks without waiting for the background predictions, point moves and
deletions, boxes, undo/redo, commit, reset, slice and model switches) runs on a small 3D stack
while a *shadow model* keeps, independently of the widget, what the user should see:

* the committed labels (a commit writes the session's mask with the next free id where no
  object is, or over other objects with *overwrite* ticked; undo/redo of commits; at most 100
  undo steps, as ``LabelHistory``);
* the ordered prompts (clicks oldest first, and box) of every slice, and their undo history
  (one step per click, box or point edit; a slice's history kept while the user visits another;
  replayed click by click after a model switch).

After every action (after every burst) it checks, once background work is done: the target
labels equal the shadow's; the prompt layers hold exactly the shadow's ordered prompts on every
slice, with unique order numbers; the session holds the prompts the layers show on its slice (the
model's input); the preview shows the session's mask on the slice shown and nothing elsewhere;
and no error notification was raised. The first violation stops the run.

Bursts are clicks only: edits that arrive while a prediction runs are merged into one undo step
by design (only the newest prompts are kept), so a burst mixing moves and clicks has no single
right undo history.

Run (needs a display; Xvfb here; about a tenth of a second per action on a CPU)::

    xvfb-run -a python benchmarks/soak_annotator.py --actions 2000 --seed S [--json out.json]

Exit code 0 with no violation, 1 otherwise. ``tests/test_soak_annotator.py`` runs a few hundred
actions of the same engine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FRESH: tuple[tuple[Any, ...], Any] = ((), None)
MODELS = ("random-walker", "geodesic", "graph-cut", "fdrn")
#: action -> weight
ACTIONS = {
    "click": 24, "tool-add": 10, "burst": 8, "move": 8, "delete": 8, "box": 5, "undo": 12,
    "redo": 6, "commit": 8, "reset": 3, "slice": 6, "model": 2,
}
LABEL_STEPS = 100  # LabelHistory's default bound


def make_stack(n: int = 4, size: int = 64, seed: int = 0) -> np.ndarray:
    """A small float32 stack with a few bright disks per slice."""
    rng = np.random.default_rng(seed)
    rr, cc = np.ogrid[:size, :size]
    vol = rng.normal(0.2, 0.03, (n, size, size))
    for z in range(n):
        for _ in range(3):
            r, c, rad = rng.integers(12, size - 12), rng.integers(12, size - 12), rng.integers(6, 12)
            vol[z][(rr - r) ** 2 + (cc - c) ** 2 <= rad**2] += 0.55
    return vol.astype(np.float32)


@dataclass
class History:
    states: list = field(default_factory=lambda: [FRESH])
    redo: list = field(default_factory=list)

    def push(self, state: tuple) -> None:
        self.states.append(state)
        self.redo.clear()


class Shadow:
    """What the user should see, kept without looking at the widget (except the model's masks)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.labels = np.zeros(shape, np.uint32)
        self.has_target = False
        self.done: list[tuple[np.ndarray, np.ndarray]] = []
        self.undone: list[tuple[np.ndarray, np.ndarray]] = []
        self.prompts: dict[tuple[int, ...], tuple] = {}
        self.hist: dict[tuple[int, ...], History] = {}
        self.S: tuple[int, ...] | None = None  # the slice the session holds

    def h(self, z: tuple[int, ...]) -> History:
        return self.hist.setdefault(z, History())

    def enter(self, z: tuple[int, ...]) -> None:
        if z == self.S:
            return
        if self.S is not None and len(self.h(self.S).states) <= 1:
            self.hist[self.S] = History()  # nothing to undo there: nothing is kept
        self.S = z

    def resegment(self, z: tuple[int, ...]) -> None:
        """The session catches up with the prompts of slice ``z``."""
        self.enter(z)
        h = self.h(z)
        clicks, box = self.prompts.get(z, FRESH)
        top = h.states[-1]
        if box != top[1]:
            h.push((top[0], box))
        top = h.states[-1]
        n = len(top[0])
        if len(clicks) > n and tuple(clicks[:n]) == top[0]:
            for k in range(n + 1, len(clicks) + 1):
                h.push((tuple(clicks[:k]), box))
        elif tuple(clicks) != top[0]:
            h.push((tuple(clicks), top[1]))

    def set_prompts(self, z: tuple[int, ...], clicks: Any = None, box: Any = "same") -> None:
        old_c, old_b = self.prompts.get(z, FRESH)
        self.prompts[z] = (tuple(old_c if clicks is None else clicks), old_b if box == "same" else box)

    def undo(self, current: tuple[int, ...]) -> str:
        if self.S is not None and self.S == current and len(self.h(self.S).states) > 1:
            h = self.h(self.S)
            h.redo.append(h.states.pop())
            self.prompts[self.S] = h.states[-1]
            return "prompt"
        if self.has_target and self.done:
            before, after = self.done.pop()
            self.labels = before.copy()
            self.undone.append((before, after))
            return "labels"
        return "none"

    def redo(self, current: tuple[int, ...]) -> str:
        if self.S is not None and self.S == current and self.h(self.S).redo:
            h = self.h(self.S)
            h.states.append(h.redo.pop())
            self.prompts[self.S] = h.states[-1]
            return "prompt"
        if self.has_target and self.undone:
            before, after = self.undone.pop()
            self.labels = after.copy()
            self.done.append((before, after))
            return "labels"
        return "none"

    def commit(self, current: tuple[int, ...], mask: np.ndarray | None, overwrite: bool = False) -> int | None:
        if self.S is None or self.S != current or mask is None or not mask.any():
            return None
        self.has_target = True
        label_id = int(self.labels.max()) + 1
        sl = self.labels[current]
        new = mask if overwrite else mask & (sl == 0)  # other objects keep their pixels unless overwrite
        if not new.any():
            return None
        before = self.labels.copy()
        sl[new] = label_id
        self.done.append((before, self.labels.copy()))
        del self.done[: max(0, len(self.done) - LABEL_STEPS)]
        self.undone.clear()
        self.prompts[current] = FRESH
        self.hist[current] = History()
        return label_id

    def reset(self, current: tuple[int, ...]) -> None:
        self.prompts[current] = FRESH
        if self.S == current:
            self.hist[current] = History()

    def switch_model(self, current: tuple[int, ...]) -> None:
        had_object = self.S is not None and self.h(self.S).states[-1] != FRESH
        self.hist = {}
        self.S = None
        if had_object:
            self.resegment(current)

    def switch_slice(self, z: tuple[int, ...]) -> None:
        if z != self.S and self.prompts.get(z, FRESH) != FRESH:
            self.resegment(z)


def _annotator_modules() -> list[Any]:
    """The modules of the annotator's parts that notify errors (``show_error``)."""
    from napari_clickseg.widgets import annotator, layer_choice, object_commands, prediction_queue

    return [annotator, layer_choice, object_commands, prediction_queue]


class Soak:
    """Drives one annotator with seeded random actions and checks it against a ``Shadow``."""

    def __init__(self, viewer: Any, seed: int, models: tuple[str, ...] = MODELS, n_slices: int = 4) -> None:
        from napari_clickseg.widgets.annotator import AnnotatorWidget

        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.models = models
        self.viewer = viewer
        self.vol = make_stack(n_slices, seed=seed)
        self.size = self.vol.shape[-1]
        viewer.add_image(self.vol, name="soak image")
        self.errors: list[str] = []
        # every error notification of the annotator's parts is a failure of the soak
        self._restore_error = {m: m.show_error for m in _annotator_modules()}
        for m, show in self._restore_error.items():
            m.show_error = lambda msg, *a, _show=show, **k: (self.errors.append(str(msg)), _show(msg))
        self.w = AnnotatorWidget(viewer, model=models[0])
        self.w.controls.background_box.setChecked(True)  # predictions in a thread worker, as users have it
        self.shadow = Shadow(self.vol.shape)
        self.counts: dict[str, int] = {}
        self.step = 0
        self.history: list[str] = []

    def close(self) -> None:
        for m, show in self._restore_error.items():
            m.show_error = show
        self.w.wait_idle()

    # -- helpers ----------------------------------------------------------------------------------
    def current(self) -> tuple[int, ...]:
        return self.w.current_index()

    def _rc(self) -> tuple[int, int]:
        return int(self.rng.integers(0, self.size)), int(self.rng.integers(0, self.size))

    def _click(self, via_tool: bool) -> None:
        from napari_clickseg.core.clicks import Click

        z = self.current()
        r, c = self._rc()
        pos = bool(self.rng.random() < 0.6)
        if via_tool:  # napari's point tool calls Points.add (and selects the new point)
            layer = self.w.prompts.positive if pos else self.w.prompts.negative
            layer.add(self.w.geometry.point_for(z, r, c)[None])
        else:
            self.w.add_click(r, c, is_positive=pos)
        self.shadow.set_prompts(z, self.shadow.prompts.get(z, FRESH)[0] + (Click(r, c, pos),))
        self.shadow.resegment(z)

    def _points_on(self, z: tuple[int, ...]) -> list[tuple[Any, int]]:
        g = self.w.geometry
        return [(layer, k) for layer in (self.w.prompts.positive, self.w.prompts.negative)
                for k, p in enumerate(layer.data) if g.spatial_of(p)[0] == z]

    def _shadow_index(self, layer: Any, k: int, z: tuple[int, ...]) -> int:
        """Position in the slice's ordered clicks of point k of ``layer`` (by its order number)."""
        orders = sorted((int(lyr.features["order"][j]), id(lyr), j) for lyr, j in self._points_on(z))
        return [(i, j) for _, i, j in orders].index((id(layer), k))

    # -- actions ----------------------------------------------------------------------------------
    def act(self, kind: str) -> None:
        from napari_clickseg.core.clicks import Box, Click

        w, sh, z = self.w, self.shadow, self.current()
        if kind not in ("click", "tool-add", "burst"):
            w.wait_idle()  # edits during a running prediction merge into one step (by design)
        if kind in ("click", "tool-add"):
            self._click(kind == "tool-add")
        elif kind == "burst":
            for _ in range(int(self.rng.integers(2, 6))):
                self._click(bool(self.rng.random() < 0.4))
        elif kind in ("move", "delete"):
            pts = self._points_on(z)
            if not pts:
                return self.act("click")
            layer, k = pts[int(self.rng.integers(len(pts)))]
            i = self._shadow_index(layer, k, z)
            clicks = list(sh.prompts.get(z, FRESH)[0])
            if kind == "move":
                r, c = self._rc()
                data = layer.data.copy()
                data[k] = w.geometry.point_for(z, r, c, like=data[k])
                layer.data = data  # what a drag in napari's select mode does
                clicks[i] = Click(r, c, clicks[i].is_positive)
            else:
                layer.selected_data = {k}
                layer.remove_selected()
                del clicks[i]
            sh.set_prompts(z, clicks)
            sh.resegment(z)
        elif kind == "box":
            (r0, c0), (r1, c1) = self._rc(), self._rc()
            if r0 == r1 or c0 == c1:
                return self.act("click")
            corners = [w.geometry.point_for(z, r, c) for r, c in ((r0, c0), (r0, c1), (r1, c1), (r1, c0))]
            w.prompts.box.add_rectangles(np.asarray(corners, float))
            sh.set_prompts(z, box=Box(r0, c0, r1, c1))
            sh.resegment(z)
        elif kind == "undo":
            kind = f"undo-{sh.undo(z)}"
            w.undo()
        elif kind == "redo":
            kind = f"redo-{sh.redo(z)}"
            w.redo()
        elif kind == "commit":
            mask = w.session.mask.copy() if (w.session.has_image and w.held_index == z) else None
            overwrite = bool(self.rng.random() < 0.3)
            w.controls.overwrite_box.setChecked(overwrite)
            expected = sh.commit(z, mask, overwrite)
            got = w.commit()
            if got != expected:
                self.fail(f"commit wrote id {got}, the shadow expected {expected}")
            kind = ("commit-overwrite" if overwrite else "commit") if expected else "commit-nothing"
        elif kind == "reset":
            sh.reset(z)
            w.reset_object()
        elif kind == "slice":
            nz = int(self.rng.integers(0, self.vol.shape[0]))
            self.viewer.dims.set_current_step(0, nz)
            sh.switch_slice((nz,))
        elif kind == "model":
            name = self.models[int(self.rng.integers(len(self.models)))]
            sh.switch_model(z)
            if not w.set_model(name):
                self.fail(f"model {name} did not load")
            kind = f"model-{name}"
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.history.append(kind)

    # -- checks -----------------------------------------------------------------------------------
    def fail(self, what: str) -> None:
        raise Violation(f"seed {self.seed}, action {self.step} ({' '.join(self.history[-8:])}): {what}")

    def check(self) -> None:
        w, sh = self.w, self.shadow
        w.wait_idle()
        if self.errors:
            self.fail(f"error notification: {self.errors[-1]}")
        labels = w.target.data if w.target is not None else np.zeros_like(sh.labels)
        if not np.array_equal(labels, sh.labels):
            diff = np.argwhere(labels != sh.labels)
            self.fail(f"labels differ at {len(diff)} pixels, first {diff[0].tolist()}")
        p = w.prompts
        orders = [int(o) for lyr in (p.positive, p.negative) for o in lyr.features["order"]]
        if len(set(orders)) != len(orders):
            self.fail(f"duplicate click order numbers {sorted(orders)}")
        for zi in range(self.vol.shape[0]):
            z = (zi,)
            want_clicks, want_box = sh.prompts.get(z, FRESH)
            if tuple(p.clicks_on(z)) != tuple(want_clicks) or p.box_on(z) != want_box:
                self.fail(f"slice {zi}: layers hold {p.clicks_on(z)} box {p.box_on(z)}, "
                          f"the shadow {list(want_clicks)} box {want_box}")
        if w.held_index != sh.S and not (sh.S is None and not w.session.has_image):
            self.fail(f"the session holds slice {w.held_index}, the shadow says {sh.S}")
        if w.session.has_image and w.held_index is not None:
            s, z = w.session, w.held_index
            if tuple(s.clicks) != tuple(p.clicks_on(z)) or s.box != p.box_on(z):
                self.fail(f"session prompts {s.clicks} box {s.box} differ from the layers on slice {z}")
            h = sh.h(z)
            if s.can_undo != (len(h.states) > 1) or s.can_redo != bool(h.redo):
                self.fail(f"undo/redo availability {s.can_undo}/{s.can_redo} differs from the shadow")
        cur = self.current()
        shown = p.preview.data > 0
        want = np.zeros_like(shown)
        if w.session.has_image and w.held_index == cur:
            want[cur] = w.session.mask
        if not np.array_equal(shown, want):
            self.fail(f"the preview shows {int(shown.sum())} px, the session's mask on slice {cur} has {int(want.sum())}")

    def run(self, n_actions: int) -> dict[str, Any]:
        kinds, weights = list(ACTIONS), np.array(list(ACTIONS.values()), float)
        self.check()
        for self.step in range(1, n_actions + 1):
            self.act(str(self.rng.choice(kinds, p=weights / weights.sum())))
            self.check()
        return {"seed": self.seed, "actions": n_actions, "violations": 0, "counts": dict(sorted(self.counts.items())),
                "objects_committed_at_end": int(len(np.unique(self.shadow.labels)) - 1)}


class Violation(AssertionError):
    """The widget disagrees with the shadow model."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actions", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default=",".join(MODELS), help="models the soak switches between")
    parser.add_argument("--json", type=str, default=None, help="write the summary here")
    args = parser.parse_args(argv)
    home = tempfile.mkdtemp(prefix="clickseg-soak-")
    os.environ["CLICKSEG_HOME"] = home  # autosave and feature cache in a throw-away folder
    import napari

    viewer = napari.Viewer(show=False)
    t0 = time.monotonic()
    soak = Soak(viewer, args.seed, tuple(m for m in args.models.split(",") if m))
    try:
        summary = soak.run(args.actions)
        rc = 0
    except Violation as err:
        summary = {"seed": args.seed, "actions": soak.step, "violations": 1, "violation": str(err),
                   "counts": soak.counts}
        rc = 1
    finally:
        soak.close()
        shutil.rmtree(home, ignore_errors=True)
    summary["wall_s"] = round(time.monotonic() - t0, 1)
    text = json.dumps(summary, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    sys.stdout.flush()
    os._exit(rc)  # skip napari's teardown at interpreter exit


if __name__ == "__main__":
    sys.exit(main())

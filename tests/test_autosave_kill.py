"""Nothing lost when napari dies: SIGKILL an annotating process, restore in a new one.

The first process annotates in a headless viewer (three committed objects on two slices, one
from a box, and an unfinished object on a third slice) and is killed with SIGKILL right after
the autosave timer has written; a second process opens the same image and restores.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

pytest.importorskip("napari")
pytestmark = [pytest.mark.gui, pytest.mark.slow]

COMMON = textwrap.dedent('''
    import hashlib, json, os, sys, time
    import numpy as np
    import napari
    from qtpy.QtWidgets import QApplication
    from napari_clickseg.widgets.annotator import AnnotatorWidget

    zz, rr, cc = np.ogrid[:4, :64, :64]
    vol = 0.15 + 0.6 * (((rr - 22) ** 2 + (cc - 22) ** 2) < 10 ** 2) + 0.5 * (((rr - 44) ** 2 + (cc - 44) ** 2) < 8 ** 2)
    vol = (vol + 0 * zz + np.random.default_rng(1).normal(0, 0.03, (4, 64, 64))).astype(np.float32)
    viewer = napari.Viewer(show=False)
    viewer.add_image(vol, name=sys.argv[1])
    w = AnnotatorWidget(viewer, model="random-walker")
    w.controls.background_box.setChecked(False)

    def report(**kw):
        print("RESULT " + json.dumps(kw), flush=True)

    def prompts(w):
        return {str(list(lead)): [[c.row, c.col, c.is_positive] for c in w.prompts.clicks_on(lead)]
                for lead in w.prompts.slices_with_prompts()}
''')

ANNOTATE = COMMON + textwrap.dedent('''
    ids = []
    viewer.dims.set_current_step(0, 0)
    w.add_click(22, 22); ids.append(w.commit())
    w.add_click(44, 44); ids.append(w.commit())
    viewer.dims.set_current_step(0, 1)
    w.prompts.box.add_rectangles(np.array([[1, 10, 10], [1, 10, 34], [1, 34, 34], [1, 34, 10]]))
    ids.append(w.commit())
    viewer.dims.set_current_step(0, 3)
    w.add_click(44, 44); w.add_click(5, 60, is_positive=False)  # unfinished: saved by the timer
    path = w.autosave.store.state_path
    end = time.monotonic() + 60
    while time.monotonic() < end:
        QApplication.processEvents(); time.sleep(0.05)
        doc = json.loads(path.read_text()) if path.is_file() else {}
        if any(p["index"] == [3] and len(p["clicks"]) == 2 for p in doc.get("prompts", [])):
            break
    else:
        sys.exit("the autosave timer never wrote the prompts")
    lab = w.target.data
    report(ids=ids, labels=lab.tolist(), prompts=prompts(w))
    print("READY", flush=True)
    while True:  # still annotating when it dies
        QApplication.processEvents(); time.sleep(0.05)
''')

RESTORE = COMMON + textwrap.dedent('''
    offered = w.autosave.offer is not None
    layer = w.restore_autosave()
    viewer.dims.set_current_step(0, 3)
    report(offered=offered, layer=layer.name if layer is not None else None,
           labels=None if layer is None else layer.data.tolist(), prompts=prompts(w),
           records=[[r.label_id, list(r.index), r.box is not None] for r in w.records],
           session=[[c.row, c.col, c.is_positive] for c in w.session.clicks])
    sys.stdout.flush()
    os._exit(0)
''')


def _result(lines):
    for line in lines:
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise AssertionError("no result line in:\n" + "\n".join(lines))


def test_sigkill_while_annotating_then_restore(tmp_path):
    env = dict(os.environ, CLICKSEG_HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1")
    env.pop("CLICKSEG_AUTOSAVE", None)
    child = subprocess.Popen([sys.executable, "-c", ANNOTATE, "first name"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    deadline = time.monotonic() + 240
    try:
        for line in child.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("READY") or time.monotonic() > deadline:
                break
        assert lines and lines[-1] == "READY", "\n".join(lines[-30:])
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
        child.stdout.close()
    before = _result(lines)
    saved = list((tmp_path / "home" / "autosave").iterdir())
    assert not [p for p in saved if p.name.endswith(".tmp")], saved

    done = subprocess.run([sys.executable, "-c", RESTORE, "another name"], capture_output=True, text=True,
                          env=env, timeout=240)
    after = _result(done.stdout.splitlines())
    assert after["offered"] and after["layer"] == "clickseg labels (restored)"
    lab_before, lab_after = np.array(before["labels"]), np.array(after["labels"])
    assert sorted(before["ids"]) == [1, 2, 3] and set(np.unique(lab_before)) == {0, 1, 2, 3}
    np.testing.assert_array_equal(lab_after, lab_before)  # every committed object, pixel for pixel
    assert [r[0] for r in after["records"]] == before["ids"] and after["records"][2] == [3, [1], True]
    assert after["prompts"] == before["prompts"] == {"[3]": [[44, 44, True], [5, 60, False]]}
    assert after["session"] == [[44, 44, True], [5, 60, False]]  # the unfinished object is back

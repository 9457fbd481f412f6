"""A busy indicator with a cancel button, shown while a slow model works on a click.

Classical models on large images (random walker) can take seconds per click. The prediction
runs in a thread worker (the UI stays responsive); this row says that it runs and offers to
cancel it. A running solver cannot be interrupted, so *cancel* withdraws the prompts that
started it: its result is dropped when it arrives and the object goes back to what was shown
before (``AnnotatorWidget.cancel_prediction``).
"""

from __future__ import annotations

from typing import Callable

from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

__all__ = ["BusyIndicator"]


class BusyIndicator(QWidget):
    """An indeterminate progress bar, a label and a *Cancel* button; hidden when idle."""

    def __init__(self, on_cancel: Callable[[], None]) -> None:
        super().__init__()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # indeterminate: "working", no percentage to promise
        self.bar.setMaximumHeight(12)
        self.label = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("withdraw the click(s) the model is working on")
        self.cancel_button.clicked.connect(lambda _=False: on_cancel())
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.bar, 1)
        lay.addWidget(self.cancel_button)
        self.active = False
        self.setVisible(False)

    def start(self, text: str) -> None:
        """Show the indicator with ``text`` (e.g. "random-walker is working on 2 click(s)")."""
        self.label.setText(text)
        self.active = True
        self.setVisible(True)

    def stop(self) -> None:
        """Hide the indicator."""
        self.active = False
        self.setVisible(False)

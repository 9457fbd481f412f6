"""A model card, readable: its training lineage as one row per run, and a short text summary.

A card written by ``clickseg train`` nests the card of the weights it started from
(``training.init.training``, recursively, see ``train.trainer.init_lineage``): complete, but a
chain of a dozen chunks is ten levels deep. ``lineage`` flattens that chain; ``summary_lines``
is what ``clickseg models --card NAME`` prints.
"""

from __future__ import annotations

from typing import Any


def lineage(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs that made a network, oldest first.

    Args:
        card: a model card (``weights_io.read_card``).

    Returns:
        One dict per run: ``steps`` (int), ``samples`` (int or None when the card predates the
        count), ``seed`` (the run's data seed or None), ``lr`` (its peak learning rate or None),
        ``init`` (the weights it started from as configured, "" for a random start) and
        ``init_sha256`` (that file's hash or None). Empty when the card has no training record
        (a classical model, a hand-made card).
    """
    rows: list[dict[str, Any]] = []
    training = card.get("training") if isinstance(card, dict) else None
    while isinstance(training, dict):
        config = training.get("config") if isinstance(training.get("config"), dict) else {}
        init = training.get("init") if isinstance(training.get("init"), dict) else {}
        rows.append({
            "steps": int(training.get("steps") or 0),
            "samples": None if training.get("samples") is None else int(training["samples"]),
            "seed": (config.get("run") or {}).get("seed"),
            "lr": (config.get("optim") or {}).get("lr"),
            "init": str(init.get("weights") or (config.get("model") or {}).get("init") or ""),
            "init_sha256": init.get("sha256"),
        })
        training = init.get("training")
    return rows[::-1]


def _count(value: Any) -> str:
    return "?" if value is None else f"{int(value):,}"


def summary_lines(name: str, card: dict[str, Any]) -> list[str]:
    """A short, human-readable account of a card: what, trained on what, lineage, numbers.

    Args:
        name: the model's registry name (the first line names it).
        card: its model card.

    Returns:
        Lines of text without newlines; every figure is read from the card, none computed.
    """
    lines = [f"{name}: {card.get('description', '(no description)')}"]
    if card.get("parameters") is not None:
        size = card.get("size_bytes")
        lines.append(f"parameters: {_count(card['parameters'])}"
                     + ("" if size is None else f", file {int(size) / 2**20:.1f} MiB"))
    training = card.get("training") if isinstance(card.get("training"), dict) else None
    if training is None:
        lines.append("training: none recorded in the card")
        return lines
    data = training.get("data") or {}
    if data:
        lines.append("trained on: " + ", ".join(f"{k} {float(v):g}" for k, v in data.items()))
    if training.get("left_out"):
        lines.append("left out of training: " + ", ".join(training["left_out"]))
    runs = lineage(card)
    total_steps = training.get("total_steps", training.get("steps"))
    lines.append(f"lineage: {len(runs)} run(s), {_count(total_steps)} steps, "
                 f"{_count(training.get('total_samples'))} samples seen (oldest first)")
    for i, run in enumerate(runs, 1):
        start = run["init"] or "random weights"
        sha = f" ({run['init_sha256'][:8]})" if run["init_sha256"] else ""
        lines.append(f"  {i:>2}. {run['steps']:>6,} steps, {_count(run['samples']):>7} samples, "
                     f"seed {run['seed']}, lr {run['lr']}, from {start}{sha}")
    curve = training.get("learning_curve") or []
    if curve:
        last = curve[-1]
        lines.append(f"learning curve: {len(curve)} points; last: {_count(last.get('samples'))} samples, "
                     f"training-validation NoC@90 {float(last.get('noc90', float('nan'))):.2f}")
    full = (card.get("evaluation") or {}).get("full_protocol")
    if isinstance(full, dict) and isinstance(full.get("per_part"), dict):
        lines.append(f"full protocol ({full.get('objects', '?')}): mean NoC@90 {full.get('mean_noc90', '?')}")
        for part, row in full["per_part"].items():
            cells = ", ".join(f"{k} {v}" for k, v in row.items() if k in ("noc85", "noc90", "miou1"))
            mark = " (left out)" if part in (full.get("left_out") or training.get("left_out") or []) else ""
            lines.append(f"  {part}{mark}: {cells}")
        if full.get("command"):
            lines.append(f"  measured with: {full['command']}")
    return lines

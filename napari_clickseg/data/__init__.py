"""Data: file readers, datasets of objects, the real datasets' splits, the synthetic generator, sample data.

* ``readers`` — images, label images, TIFF stacks, NIfTI volumes (array conventions there);
* ``datasets`` — ``load_objects`` and ``ObjectSample``, the one sample type of the package;
* ``real_data`` / ``splits`` — the real labelled dataset folders under a data root (passed in or
  ``$CLICKSEG_DATA``) and their fixed held-out validation parts;
* ``synthetic`` — the seeded procedural generator of labelled images;
* ``samples`` — the small synthetic sample volumes (napari sample data, ``--data sample-*``).

Imports only ``core`` (never models, training, evaluation or front ends).
"""

"""Procedural generator of labelled images (seeded, endless), numpy + scipy + scikit-image only.

``generate(rng, kind)`` makes one (image, instance labels) pair (seeded: a training loop draws an
endless stream from it); ``nuclei_volume`` / ``mri_volume`` make small 3D stacks (sample data).
"""

from .generator import KINDS, SyntheticSample, generate, vary_appearance
from .mri import mri_volume
from .nuclei import nuclei_volume

__all__ = ["KINDS", "SyntheticSample", "generate", "vary_appearance", "mri_volume", "nuclei_volume"]

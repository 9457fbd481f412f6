"""Procedural generator of labelled images (seeded, endless), numpy + scipy + scikit-image only."""

"""napari_clickseg.eval"""

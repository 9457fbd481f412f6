"""napari_clickseg.train"""

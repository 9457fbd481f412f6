"""napari_clickseg.widgets"""

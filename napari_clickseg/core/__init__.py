"""napari_clickseg.core"""

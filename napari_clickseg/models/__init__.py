"""napari_clickseg.models"""

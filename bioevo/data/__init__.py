"""Data sets as spike rasters: the registry of kinds (randman, digits, mnist, shd, clicks),
and the one in-memory spike format."""
from .kinds import DATA_KINDS, DataError, DataKind, make_dataset
from .spikes import SparseRaster, SpikeData

__all__ = ["DATA_KINDS", "DataError", "DataKind", "make_dataset", "SparseRaster", "SpikeData"]

"""Data sets as spike rasters: the registry of kinds (randman, digits, mnist, shd, clicks),
the one in-memory spike format and minibatches."""
from .kinds import DATA_KINDS, DataError, DataKind, make_dataset
from .spikes import SparseRaster, SpikeData, minibatches

__all__ = ["DATA_KINDS", "DataError", "DataKind", "make_dataset", "SparseRaster", "SpikeData", "minibatches"]

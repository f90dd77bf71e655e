"""Purchase, spend and retention models (one file a model; shared MLE helper in _mle)."""

from valuation.models.betageo import BetaGeo
from valuation.models.bgbb import BetaGeoBetaBinom
from valuation.models.gammagamma import GammaGamma
from valuation.models.paretonbd import ParetoNBD
from valuation.models.sbg import ShiftedBetaGeometric

__all__ = ["BetaGeo", "BetaGeoBetaBinom", "GammaGamma", "ParetoNBD", "ShiftedBetaGeometric"]

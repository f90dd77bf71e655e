"""``ValuationResult``: every number and table of one valuation, aggregates only."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


def _clean(value):
    """JSON-ready: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if value is pd.NA or value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value


def _earn_out_line(sheet, eo: dict, lang: str) -> str:
    """The summary's earn-out line: the term sheet when the negotiation plan ran (no
    earn-out on a tiny base), else the legacy share-of-price earn-out."""
    if sheet is None:
        if lang == "zh":
            return (f"对赌（earn-out）：价格的 {eo['share']:.0%}（¥{eo['amount']:,.0f}）"
                    f"取决于转让后 12 个月留存的学员数（预期 {eo['expected_retained']:,.0f} 人）。")
        return (f"Earn-out: {eo['share']:.0%} of the price (CNY {eo['amount']:,.0f}) contingent "
                f"on customers retained 12 months after transfer (expected "
                f"{eo['expected_retained']:,.0f}).")
    terms = sheet.terms
    if terms:
        if lang == "zh":
            return (f"对赌（earn-out，{sheet.status}）：交割现金 ¥{terms['cash_at_closing']:,.0f}，"
                    f"留存超过 {terms['threshold']:,.0f} 人后每人 ¥{terms['slope_per_customer']:,.0f}，"
                    f"上限 ¥{terms['cap']:,.0f}。")
        return (f"Earn-out ({sheet.status}): cash at closing CNY {terms['cash_at_closing']:,.0f}, "
                f"then CNY {terms['slope_per_customer']:,.0f} per customer retained above "
                f"{terms['threshold']:,.0f}, capped at CNY {terms['cap']:,.0f}.")
    if lang == "zh":
        return (f"对赌（earn-out）：不提议（{sheet.status}；预期留存 "
                f"{sheet.expected_retained:,.0f} 人）。")
    return (f"Earn-out: none ({sheet.status}; {sheet.expected_retained:,.0f} customers expected "
            "to be retained).")


def _records(frame: pd.DataFrame, index_name: str | None = None) -> list[dict]:
    data = frame.reset_index() if index_name or frame.index.name else frame
    return _clean(data.to_dict(orient="records"))


@dataclass
class ValuationResult:
    """The valuation of one target's customer base and the negotiation position.

    Attributes
    ----------
    target, side : str
    assumptions : dict
    equity : DataFrame
        Customer equity per consent cohort.
    streams : DataFrame
        Equity of all customers per revenue stream (purchases, memberships).
    bridge : DataFrame
        The value bridge; the last row is ``transferable_value``.
    value : float
        Value of the transferable base (point estimate).
    range : DataFrame
        Percentiles of the value (bootstrap, parameter, combined).
    replicates : DataFrame
        The replicate distribution.
    tornado, scenario_grid, concentration_top, concentration_segments : DataFrame
    positions : DataFrame
        Anchor, target, walk-away.
    zone : dict
    price_checks : DataFrame
    earn_out : dict
    risks : DataFrame
    models : dict
        Fitted parameters per model (aggregates).
    method_notes : list of str
        How the value was computed, incl. any fallback and its reason.
    purchase_method : str
        ``purchase_model`` (BG/NBD + Gamma-Gamma) or ``empirical_rate_fallback``.
    purchase_fallback_reason : str or None
        Why the fallback was used.
    acquisitions : dict or None
        Value of future acquisitions (an assumption; None when off).
    expected_active_12m : dict
        Expected active customers 12 months on (all, current owner; transferable, after
        the change of owner).
    base : CustomerBase or None
        The fitted customer base behind the numbers (per-customer values and the models).
        In memory only: never part of :meth:`to_json_dict` (it holds per-customer rows).
    plan : NegotiationPlan or None
        The negotiation plan (issue 16, :mod:`valuation.value.deal_plan`): the range with
        the assumptions in it, positions with reasons, what the price implies, the earn-out
        term sheet, the re-consent scenario and the what-if engine (``plan.revaluer``).
    """

    target: str
    side: str
    assumptions: dict
    equity: pd.DataFrame
    streams: pd.DataFrame
    bridge: pd.DataFrame
    value: float
    range: pd.DataFrame
    replicates: pd.DataFrame
    tornado: pd.DataFrame
    scenario_grid: pd.DataFrame
    concentration_top: pd.DataFrame
    concentration_segments: pd.DataFrame
    positions: pd.DataFrame
    zone: dict
    price_checks: pd.DataFrame
    earn_out: dict
    risks: pd.DataFrame
    models: dict = field(default_factory=dict)
    method_notes: list[str] = field(default_factory=list)
    purchase_method: str = "purchase_model"
    purchase_fallback_reason: str | None = None
    acquisitions: dict | None = None
    expected_active_12m: dict = field(default_factory=dict)
    base: Any = field(default=None, repr=False, compare=False)
    plan: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.plan is not None and "with_assumptions" not in self.range.columns:
            joint = self.plan.joint.percentiles
            self.range = self.range.copy()
            self.range["with_assumptions"] = joint["with_assumptions"].reindex(
                self.range.index)

    @property
    def notes(self) -> list[str]:
        """Alias of :attr:`method_notes`."""
        return self.method_notes

    def percentile(self, p: int, column: str | None = None) -> float:
        """The headline value at percentile ``p`` (one of 5, 10, 25, 40, 50, 60, 75, 90, 95):
        model and assumptions combined (``with_assumptions``) when the negotiation plan ran,
        else the model's ``combined``; ``column`` picks another (e.g. ``combined`` for the
        model-only range)."""
        if column is None:
            column = "with_assumptions" if "with_assumptions" in self.range else "combined"
        return float(self.range.loc[f"P{p}", column])

    def headline_draws(self) -> np.ndarray:
        """The draws behind the headline range (combined with the assumptions when the
        plan ran, else the model replicates)."""
        if self.plan is not None:
            return self.plan.joint.draws["total"].to_numpy(float)
        return self.replicates["combined"].dropna().to_numpy(float)

    def to_json_dict(self) -> dict:
        """Aggregates only (no customer token, no per-customer row), JSON-serialisable."""
        grid = self.scenario_grid.copy()
        grid.columns = [f"{c:g}" for c in grid.columns]
        replicates = self.replicates["combined"].dropna().to_numpy()
        hist, edges = (np.histogram(replicates, bins=20) if len(replicates)
                       else (np.array([]), np.array([])))
        risks = self.risks.copy()
        return _clean({
            "target": self.target,
            "side": self.side,
            "assumptions": self.assumptions,
            "value": round(self.value, 2),
            "purchase_method": self.purchase_method,
            "purchase_fallback_reason": self.purchase_fallback_reason,
            "equity": _records(self.equity),
            "streams": _records(self.streams),
            "bridge": _records(self.bridge[["step", "label", "amount", "kind", "explanation"]]),
            "range": {
                "point": self.value,
                "p10": self.percentile(10), "p50": self.percentile(50),
                "p90": self.percentile(90),
                "headline": ("model and assumptions combined" if self.plan is not None
                             else "model only"),
                "model_only": {f"p{p}": self.percentile(p, "combined") for p in (10, 50, 90)},
                "percentiles": _records(self.range.rename_axis("percentile")),
                "histogram": {"counts": hist.tolist(), "edges": edges.tolist()},
            },
            "replicates": {"n": int(len(self.replicates)),
                           "failed": int(self.replicates["combined"].isna().sum()),
                           "histogram": {"counts": hist.tolist(), "edges": edges.tolist()}},
            "tornado": _records(self.tornado),
            "scenario_grid": _records(grid.rename_axis("one_off_loss")),
            "concentration": {"top": _records(self.concentration_top),
                              "segments": _records(self.concentration_segments)},
            "positions": _records(self.positions),
            "zone": self.zone,
            "price_checks": _records(self.price_checks),
            "earn_out": self.earn_out,
            "risks": _records(risks),
            "acquisitions": self.acquisitions,
            "expected_active_12m": self.expected_active_12m,
            "models": self.models,
            "method_notes": self.method_notes,
            "negotiation": self.plan.to_dict() if self.plan is not None else None,
        })

    def summary(self, lang: str = "en") -> str:
        """A short plain-text summary in English (``en``) or Chinese (``zh``)."""
        p10, p50, p90 = self.percentile(10), self.percentile(50), self.percentile(90)
        pos = self.positions["price"]
        gross = float(self.bridge.loc[self.bridge["step"] == "gross_equity", "amount"].iloc[0])
        label = "label_zh" if lang == "zh" else "label_en"
        top_risk = (str(self.risks[label].iloc[0]) if label in self.risks and len(self.risks)
                    else (self.risks.index[0] if len(self.risks) else "-"))
        eo = self.earn_out
        sheet = self.plan.term_sheet if self.plan is not None else None
        if lang == "zh":
            side = "买方" if self.side == "buyer" else "卖方"
            lines = [
                f"{self.target}：可转让客户资产价值 ¥{self.value:,.0f}"
                f"（P10 ¥{p10:,.0f} / P50 ¥{p50:,.0f} / P90 ¥{p90:,.0f}）。",
                f"全部客户的客户资产总额 ¥{gross:,.0f}，经数据质量扣减、不可转让客户、"
                "控制权变更流失、通知成本（《个人信息保护法》第二十二条）及整合成本后得出。",
                f"{side}立场：开价 ¥{pos['anchor']:,.0f}，目标 ¥{pos['target']:,.0f}，"
                f"底线 ¥{pos['walk_away']:,.0f}。",
                _earn_out_line(sheet, eo, "zh"),
                f"最大风险：{top_risk}。",
            ]
        else:
            lines = [
                f"{self.target}: the transferable customer base is worth CNY {self.value:,.0f} "
                f"(P10 {p10:,.0f} / P50 {p50:,.0f} / P90 {p90:,.0f}).",
                f"Gross equity of all customers CNY {gross:,.0f}, less the data-quality "
                "haircut, customers that cannot be transferred, change-of-owner attrition, "
                "notification (PIPL Art. 22) and integration costs.",
                f"As {self.side}: anchor CNY {pos['anchor']:,.0f}, target "
                f"{pos['target']:,.0f}, walk away at {pos['walk_away']:,.0f}.",
                _earn_out_line(sheet, eo, "en"),
                f"Largest risk: {top_risk}.",
            ]
        if self.purchase_fallback_reason:
            lines.append(("购买价值采用简化替代方法（经验复购率 × 生存期 × 平均订单额），原因："
                          if lang == "zh" else "Purchases valued with the simpler FALLBACK "
                          "method (empirical repeat rate x lifetime x mean order value) because ")
                         + self.purchase_fallback_reason + ".")
        if self.acquisitions is not None and self.acquisitions.get("value") is not None:
            amount = float(self.acquisitions["value"])
            lines.append(f"另计未来获客价值（假设）¥{amount:,.0f}，未计入上述价值。" if lang == "zh"
                         else f"Plus future acquisitions (assumption) CNY {amount:,.0f}, "
                              "shown separately, not in the value above.")
        if self.zone.get("asking_price") is not None:
            lines.append(("议价区间：" if lang == "zh" else "Agreement zone: ") + self.zone["note"])
        return "\n".join(lines)

"""The cross-border route of a transfer package whose buyer holds the data outside mainland China.

Sources (thresholds in :data:`THRESHOLDS`, effective 22 March 2024):

* PIPL (个人信息保护法) Art. 38 (the routes: CAC security assessment, certification, the CAC
  standard contract), Art. 39 (notice and separate consent), Art. 40 (CII operators and
  handlers over the CAC's volume thresholds: security assessment), Art. 28 (sensitive
  personal information includes that of minors under 14), Art. 55 (impact assessment).
* CAC, 促进和规范数据跨境流动规定 (Provisions on Promoting and Regulating Cross-Border Data
  Flows), 22 March 2024: Art. 5(4) exemption below 100,000 people (excluding sensitive
  personal information); Art. 7(2) security assessment when a non-CII handler has provided,
  cumulatively since 1 January of the current year, personal information of 1,000,000 people
  or more (excluding sensitive) or sensitive personal information of 10,000 people or more;
  Art. 8 standard contract or certification for 100,000 up to (not including) 1,000,000
  people (excluding sensitive) or fewer than 10,000 people's sensitive personal information.
  Art. 7(1): a CII operator needs the assessment for any personal information.

Boundaries: "以上" includes the number itself and "不满" excludes it (Civil Code Art. 1259),
so exactly 100,000 people is the standard contract, exactly 1,000,000 people or exactly
10,000 sensitive people the security assessment, and a single sensitive person already needs
the standard contract (the exemption covers only transfers without sensitive information).

Counts: ``people`` is everyone whose personal information is transferred (every customer in
the package: names and contacts are personal information even where sensitive data is also
sent), plus the transfers of the year recorded in params; ``sensitive_people`` counts
customers under 14 and, where ``handover.id_numbers_sensitive`` (default: yes, as GB/T 35273
Appendix B lists identity card numbers), customers with a resident ID number.

Lead times are typical planning figures from the CAC measures (assessment: completeness
check 5 working days, decision 45 working days, extendable; standard contract: filing within
10 working days of signing, after an Art. 55 impact assessment) and practice; they are not
legal advice.
"""

from __future__ import annotations

from dataclasses import dataclass

from valuation.errors import HandoverError

THRESHOLDS: dict[str, int] = {
    "exempt_below_people": 100_000,  # Provisions Art. 5(4): < 100,000 and no sensitive PI
    "assessment_from_people": 1_000_000,  # Art. 7(2): >= 1,000,000 (excluding sensitive)
    "assessment_from_sensitive_people": 10_000,  # Art. 7(2): >= 10,000 sensitive
}
"""Thresholds of the 2024 Provisions (people since 1 January of the year, inclusive bounds)."""

ROUTES: dict[str, dict[str, str]] = {
    "none": {
        "label": "mainland destination: no cross-border route needed",
        "label_zh": "境内接收方，无需出境路径",
        "lead_time": "none",
        "lead_time_zh": "无",
        "basis": "PIPL Art. 38 applies only to provision outside the mainland",
        "basis_zh": "《个人信息保护法》第三十八条仅适用于向境外提供",
    },
    "exempt": {
        "label": "exempt from assessment, standard contract and certification",
        "label_zh": "免予申报数据出境安全评估、订立标准合同、认证",
        "lead_time": "about 2-4 weeks (PIPL Art. 55 impact assessment, Art. 39 notice and "
                     "separate consent)",
        "lead_time_zh": "约 2-4 周（个人信息保护影响评估、告知并取得单独同意）",
        "basis": "CAC Provisions 2024 Art. 5(4); PIPL Art. 39, 55",
        "basis_zh": "《促进和规范数据跨境流动规定》第五条第四项；《个人信息保护法》第三十九条、第五十五条",
    },
    "standard_contract": {
        "label": "CAC standard contract (filed with the provincial CAC) or certification",
        "label_zh": "订立个人信息出境标准合同并备案，或通过个人信息保护认证",
        "lead_time": "about 1-3 months (impact assessment, signing, filing within 10 working "
                     "days of signing; certification typically 3-6 months)",
        "lead_time_zh": "约 1-3 个月（影响评估、签订合同、签订后 10 个工作日内备案；认证通常 3-6 个月）",
        "basis": "PIPL Art. 38(2)-(3); CAC Provisions 2024 Art. 8",
        "basis_zh": "《个人信息保护法》第三十八条第二、三项；《促进和规范数据跨境流动规定》第八条",
    },
    "security_assessment": {
        "label": "CAC security assessment (数据出境安全评估)",
        "label_zh": "申报国家网信部门数据出境安全评估",
        "lead_time": "about 3-6 months (self-assessment, provincial completeness check 5 "
                     "working days, CAC decision 45 working days, extendable)",
        "lead_time_zh": "约 3-6 个月（自评估、省级网信部门 5 个工作日完备性审查、国家网信部门 45 个工作日内决定，可延长）",
        "basis": "PIPL Art. 38(1), 40; CAC Provisions 2024 Art. 7",
        "basis_zh": "《个人信息保护法》第三十八条第一项、第四十条；《促进和规范数据跨境流动规定》第七条",
    },
}


@dataclass(frozen=True)
class CrossBorderRoute:
    """The route of one transfer: its key in :data:`ROUTES`, the counts it rests on."""

    route: str
    people: int
    sensitive_people: int
    reason: str

    def as_dict(self) -> dict[str, object]:
        """JSON-ready mapping for the checklist (counts only)."""
        return {"route": self.route, **ROUTES[self.route], "people": self.people,
                "sensitive_people": self.sensitive_people, "reason": self.reason,
                "thresholds": dict(THRESHOLDS)}


def classify(people: int, sensitive_people: int, *, outside: bool = True,
             cii: bool = False) -> CrossBorderRoute:
    """The route for a transfer of ``people`` (of whom ``sensitive_people`` sensitive).

    Parameters
    ----------
    people : int
        People whose personal information is provided abroad since 1 January of the year.
    sensitive_people : int
        Of those, people whose sensitive personal information is provided.
    outside : bool
        Whether the recipient holds the data outside the mainland.
    cii : bool
        Whether the provider is a critical information infrastructure operator.

    Examples
    --------
    >>> classify(99_999, 0).route, classify(100_000, 0).route, classify(99_999, 1).route
    ('exempt', 'standard_contract', 'standard_contract')
    >>> classify(999_999, 9_999).route, classify(1_000_000, 0).route
    ('standard_contract', 'security_assessment')
    """
    if people < 0 or sensitive_people < 0 or sensitive_people > people:
        raise ValueError("counts must satisfy 0 <= sensitive_people <= people")
    if not outside:
        return CrossBorderRoute("none", people, sensitive_people, "destination in the mainland")
    if people == 0:
        return CrossBorderRoute("exempt", 0, 0, "no personal information provided abroad")
    t = THRESHOLDS
    if cii:
        return CrossBorderRoute("security_assessment", people, sensitive_people,
                                "the provider is a CII operator (Art. 7(1))")
    if people >= t["assessment_from_people"]:
        return CrossBorderRoute("security_assessment", people, sensitive_people,
                                f"{people:,} people >= {t['assessment_from_people']:,}")
    if sensitive_people >= t["assessment_from_sensitive_people"]:
        return CrossBorderRoute(
            "security_assessment", people, sensitive_people,
            f"{sensitive_people:,} sensitive >= {t['assessment_from_sensitive_people']:,}")
    if people >= t["exempt_below_people"]:
        return CrossBorderRoute("standard_contract", people, sensitive_people,
                                f"{people:,} people >= {t['exempt_below_people']:,}")
    if sensitive_people > 0:
        return CrossBorderRoute("standard_contract", people, sensitive_people,
                                f"{sensitive_people:,} sensitive people (any sensitive "
                                "personal information leaves the exemption)")
    return CrossBorderRoute("exempt", people, sensitive_people,
                            f"{people:,} people < {t['exempt_below_people']:,}, none sensitive")


def route_for_transfer(handover_params, people: int, sensitive_people: int) -> CrossBorderRoute:
    """The route of a transfer under the handover params (adds the year's earlier transfers)."""
    p = handover_params
    return classify(people + p.prior_people_this_year,
                    sensitive_people + p.prior_sensitive_people_this_year,
                    outside=p.destination == "outside",
                    cii=p.critical_information_infrastructure)


def require_route_reference(handover_params, route: CrossBorderRoute, *, where: str) -> None:
    """Refuse a foreign destination whose route reference is not recorded in params.

    Raises
    ------
    HandoverError
        Naming the route the counts require and its lead time.
    """
    if route.route == "none" or handover_params.cross_border_route_ref.strip():
        return
    info = ROUTES[route.route]
    raise HandoverError(
        f"{where}: handover.destination is 'outside' but handover.cross_border_route_ref is "
        f"not set. For {route.people:,} people ({route.sensitive_people:,} with sensitive "
        f"personal information) the route is: {info['label']} ({info['basis']}; typical "
        f"lead time {info['lead_time']}). Complete it and record its reference (assessment "
        "approval, filing number, certificate or exemption memo) in "
        "handover.cross_border_route_ref, then run the handover again."
    )

"""The ``generator`` block of ``ground_truth.json``: every generating process and its parameters."""

from __future__ import annotations

from valuation.samples.specs import BOOTCAMP_LOG_HR, TargetSpec

COVARIATES: dict[str, str] = {
    "channel": "customers.channel, one dummy per level; reference level 'search'",
    "category": ("category of the customer's earliest order (orders.category); reference level "
                 "'programming'"),
    "first_order_value": ("amount of the customer's earliest order row (for an instalment plan "
                          "the first instalment), in units of CNY 10,000"),
    "satisfaction": "score (1-5, per point) of the customer's earliest feedback",
    "age_band": ("age at signup from the ID number's birth date, as analysis customers.age_band; "
                 "reference level '18-24'; pupils under 14 take 0 in every age_band dummy"),
    "minor": "under 14 at signup (analysis customers.minor), 0/1",
}

ZERO_SURVIVAL = {
    "model": "none",
    "note": "no covariate affects dropout: every log hazard ratio is 0",
    "log_hazard_ratios": {name: 0.0 for name in BOOTCAMP_LOG_HR},
}


def sbg_retention(alpha: float, beta: float, periods: int) -> list[float]:
    """Expected share still paying after t renewals, S(t) = B(alpha, beta + t) / B(alpha, beta)."""
    out, s = [], 1.0
    for t in range(1, periods + 1):
        s *= (beta + t - 1) / (alpha + beta + t - 1)
        out.append(round(s, 6))
    return out


def generator_truth(spec: TargetSpec) -> dict:
    """The generating processes of a target, as written to ``ground_truth.json``."""
    g = spec.generator
    if spec.name == "online_school":
        bg, gg = g["bgnbd"], g["gamma_gamma"]
        return {
            "bgnbd": dict(bg),
            "gamma_gamma": dict(gg),
            "mean_spend": round(gg["p"] * gg["gamma"] / (gg["q"] - 1), 2),
            "first_purchase": "every customer buys on her signup day (time 0 of BG/NBD)",
            "day_rounding": "purchase day = signup + floor(7 * t_weeks); same-day purchases are separate orders",
            "refunds": "at most one order per customer with two or more orders; not part of the BG/NBD process",
            "survival": ZERO_SURVIVAL,
        }
    if spec.name == "bootcamp":
        surv = g["survival"]
        return {
            "survival": {
                **surv,
                "log_hazard_ratios": dict(BOOTCAMP_LOG_HR),
                "hazard": "h(t|x) = shape/scale (t/scale)^(shape-1) exp(x'beta), t in days since signup",
                "covariates": COVARIATES,
                "reference_levels": {"channel": "search", "category": "programming", "age_band": "18-24"},
                "lifetime_signs": ("activity (attendance during the 84-day course, logins) occurs "
                                   "only while alive; instalments are paid only while alive; the "
                                   "last activity is at most the latent death day"),
                "recovery_recipe": ("duration = last activity date (signup if none) - signup date "
                                    "in days; event = as_of - last activity > 90 days"),
            },
            "course_days": g["course_days"],
            "attendance_per_week": g["attendance_per_week"],
            "logins_per_week": g["logins_per_week"],
            "refunds": ("full refund (70%) if the latent lifetime is <= 14 days, partial (50%) if "
                        "14-56 days, only for full-payment plans"),
        }
    sbg = g["sbg"]
    return {
        "sbg": {**sbg, "expected_retention": sbg_retention(sbg["alpha"], sbg["beta"], 8),
                "mean_churn": round(sbg["alpha"] / (sbg["alpha"] + sbg["beta"]), 6)},
        "cohorts": "by signup year; membership orders on each anniversary of signup while paying",
        "exam_course_per_year": g["exam_course_per_year"],
        "survival": ZERO_SURVIVAL,
        "membership_fee": sbg["membership_fee"],
        "note": f"churn probability per year theta ~ Beta({sbg['alpha']}, {sbg['beta']})",
    }

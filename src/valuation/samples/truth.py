"""The ``generator`` block of ``ground_truth.json``: every generating process and its parameters."""

from __future__ import annotations

from valuation.samples.specs import (BOOTCAMP_FOLLOW_ONS, BOOTCAMP_LOG_HR,
                                     BOOTCAMP_PUPIL_FOLLOW_ONS, FollowOn, TargetSpec)

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


def _products(products: tuple[FollowOn, ...]) -> list[dict]:
    total = sum(p.weight for p in products)
    return [{"course": p.course.name, "category": p.course.category, "kind": p.kind,
             "price": p.course.price, "weight": round(p.weight / total, 6),
             "course_days": p.course_days, "instalments": p.instalments} for p in products]


def follow_on_truth(fo: dict) -> dict:
    """The follow-on purchase process of the bootcamp, as written to ``ground_truth.json``."""
    r, alpha = fo["r"], fo["alpha"]
    return {
        "model": "poisson_gamma_while_alive",
        "r": r,
        "alpha": alpha,
        "time_unit": fo["time_unit"],
        "mean_rate_per_week": round(r / alpha, 6),
        "process": ("each student buys follow-on products at the arrivals of a Poisson process "
                    f"of rate lambda ~ Gamma(r={r}, rate alpha={alpha}) per week, independent "
                    "of her covariates and of her latent lifetime; the process runs while she "
                    "is alive (the survival block's latent Weibull-PH lifetime) and before as_of"),
        "window": ("from the day after signup for min(lifetime, as_of - signup) - 1 days; an "
                   "arrival at t weeks is dated signup + 1 + floor(7 t), so no follow-on is "
                   "on the signup day, after the latent death day or after as_of"),
        "count_distribution": ("negative binomial given the window T (weeks): "
                               "P(K=0) = (alpha/(alpha+T))^r, E[K] = r T / alpha"),
        "products": _products(BOOTCAMP_FOLLOW_ONS),
        "pupil_products": _products(BOOTCAMP_PUPIL_FOLLOW_ONS),
        "product_choice": "by weight, with replacement (pupils under 14 from pupil_products)",
        "instalments": {
            "share": fo["instalment_share"],
            "counts": list(fo["instalment_counts"]),
            "rule": ("only a student's first purchase of a product marked instalments; payment "
                     "j (0-based) on the purchase day + 30 j while alive and by as_of; equal "
                     "payments rounded to the fen, the last one takes the rest"),
        },
        "refunds": (f"a full-price follow-on is fully refunded with probability "
                    f"{fo['full_refund_share']} when the student dies within "
                    f"{fo['full_refund_within_days']} days of buying it"),
        "activity": ("lessons of a product with course_days > 0 are attended like the main "
                     "course (attendance_per_week) from the purchase day, while alive and by "
                     "as_of; no feedback is asked after a follow-on"),
        "covariates_unchanged": ("follow-ons never precede the main course's first payment, "
                                 "so the earliest order and earliest feedback of the survival "
                                 "covariates are those of the main course"),
    }


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
                "lifetime_signs": ("activity (attendance during the 84-day course and during "
                                   "follow-on courses, logins) occurs only while alive; "
                                   "instalments and follow-on orders are paid only while alive; "
                                   "the last activity and the last order are at most the latent "
                                   "death day"),
                "recovery_recipe": ("duration = last activity date (signup if none) - signup date "
                                    "in days; event = as_of - last activity > 90 days"),
            },
            "course_days": g["course_days"],
            "attendance_per_week": g["attendance_per_week"],
            "logins_per_week": g["logins_per_week"],
            "refunds": ("main course: full refund (70%) if the latent lifetime is <= 14 days, "
                        "partial (50%) if 14-56 days, only for full-payment plans"),
            "follow_on": follow_on_truth(g["follow_on"]),
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

"""The canonical tables: names, columns and dtypes every module agrees on.

Two zones hold tables (see ``docs/architecture.md``):

* **raw** tables live only in memory inside the secure zone (ingest -> privacy gate); they
  carry names, mobiles, ID numbers and e-mails;
* **analysis** tables are token-only; the privacy gate writes them as Parquet to the target's
  work folder and they are the only tables notebooks, models and briefs ever read.

Each table is described by an ordered mapping ``column -> pandas dtype``. Columns marked
*optional* may be absent from an export; ingest then adds them filled with missing values.
"""

from __future__ import annotations

TABLES: tuple[str, ...] = ("customers", "orders", "activity", "feedback")

# ---------------------------------------------------------------------------------------
# Raw canonical tables (secure zone, in memory only)
# ---------------------------------------------------------------------------------------
RAW_COLUMNS: dict[str, dict[str, str]] = {
    "customers": {
        "customer_id": "string",  # the seller's customer number, unique
        "name": "string",  # personal
        "mobile": "string",  # personal; as exported (may have +86, spaces, dashes)
        "id_number": "string",  # personal; PRC resident ID as exported (18 or legacy 15)
        "email": "string",  # personal
        "city": "string",
        "signup_date": "datetime64[ns]",
        "channel": "string",  # signup channel: e.g. search, wechat, referral, offline, ...
        "consent_transfer": "boolean",  # consented to transfer to a new owner (nullable)
        "consent_marketing": "boolean",  # consented to marketing (nullable)
        "guardian_consent": "boolean",  # guardian consent for pupils under 14 (nullable)
    },
    "orders": {
        "order_id": "string",  # unique
        "customer_id": "string",
        "course": "string",
        "category": "string",  # e.g. programming, data, cloud, certification, membership
        "order_date": "datetime64[ns]",
        "amount": "float64",  # CNY paid (gross of refund)
        "refund_amount": "float64",  # CNY refunded, 0 when none (optional column)
        "payment_plan": "string",  # full | instalment (optional column)
    },
    "activity": {
        "customer_id": "string",
        "event_date": "datetime64[ns]",
        "event_type": "string",  # attendance | login
        "count": "int64",  # events of that type that day (optional, default 1)
    },
    "feedback": {
        "customer_id": "string",
        "feedback_date": "datetime64[ns]",
        "score": "float64",  # 1..5
        "text": "string",  # free text, may contain personal data (redacted by the gate)
    },
}

REQUIRED_RAW: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id", "signup_date"),
    "orders": ("order_id", "customer_id", "order_date", "amount"),
    "activity": ("customer_id", "event_date"),
    "feedback": ("customer_id", "feedback_date"),
}
"""Columns an export must have; every other raw column is optional."""

PERSONAL_COLUMNS: tuple[str, ...] = ("name", "mobile", "id_number", "email")
"""Raw columns that identify a person and never leave the secure zone."""

# ---------------------------------------------------------------------------------------
# Analysis tables (token-only; Parquet in the work folder)
# ---------------------------------------------------------------------------------------
ANALYSIS_COLUMNS: dict[str, dict[str, str]] = {
    "customers": {
        "customer_token": "string",  # HMAC of customer_id (field "customer_id")
        "person_token": "string",  # HMAC of the normalised ID number, else of the mobile
        "mobile_token": "string",  # HMAC of the normalised mobile (NA if none/invalid)
        "city": "string",
        "city_tier": "string",  # tier1 | new_tier1 | tier2 | other
        "province": "string",  # from the ID number's region code (NA if no valid ID)
        "sex": "string",  # F | M (from the ID number)
        "birth_year_band": "string",  # e.g. "1990-1994"
        "age_band": "string",  # at signup: "<14", "14-17", "18-24", "25-34", "35-44", "45+"
        "minor": "boolean",  # under 14 at signup
        "signup_date": "datetime64[ns]",
        "channel": "string",
        "consent_transfer": "boolean",
        "consent_marketing": "boolean",
        "guardian_consent": "boolean",
        "id_present": "boolean",
        "id_valid": "boolean",  # 18 chars, check digit OK, valid birth date
        "id_checksum_ok": "boolean",  # MOD 11-2 check digit OK
        "id_birthdate_ok": "boolean",  # a real date, not after signup/as_of, age <= 100 at signup
        "mobile_present": "boolean",
        "mobile_valid": "boolean",  # 1[3-9] + 9 digits after normalisation
        "mobile_dummy": "boolean",  # a known dummy number such as 13800000000
        "email_valid": "boolean",
        "contactable": "boolean",  # valid non-dummy mobile or valid e-mail
        "name_present": "boolean",
    },
    "orders": {
        "order_id": "string",
        "customer_token": "string",
        "course": "string",
        "category": "string",
        "order_date": "datetime64[ns]",
        "amount": "float64",
        "refund_amount": "float64",
        "payment_plan": "string",
    },
    "activity": {
        "customer_token": "string",
        "event_date": "datetime64[ns]",
        "event_type": "string",
        "count": "int64",
    },
    "feedback": {
        "customer_token": "string",
        "feedback_date": "datetime64[ns]",
        "score": "float64",
        "text_redacted": "string",
    },
}

COHORTS: tuple[str, ...] = ("all", "transferable", "transferable_contactable")
"""Consent cohorts, from widest to narrowest (see ``valuation.privacy.cohorts``)."""

"""The three sample targets: dates, sizes, generating parameters and planted-defect plans.

Every date is fixed here (never today's date), so a seed always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

CHECKS: tuple[str, ...] = (
    "invalid_id_checksum", "impossible_birth_date", "dummy_phone", "repeated_phone",
    "duplicate_person", "signup_burst", "missing_fields", "orphan_orders", "missing_consent",
    "minor_without_guardian_consent", "payment_before_signup", "non_positive_amount",
    "refund_exceeds_payment", "activity_after_full_refund", "future_dates", "before_opening",
)
"""Review-check names of docs/contract.md, in its order."""


@dataclass(frozen=True)
class DefectPlan:
    """How many records carry each planted defect (all zero for a clean target).

    ``repeated_phone_pairs`` pairs give ``2 * pairs`` flagged customers; ``burst_extra`` extra
    signups land on ``burst_day`` on top of its natural signups; ``future`` and
    ``before_opening`` split the records by table.
    """

    invalid_id_checksum: int = 0
    impossible_birth_date: int = 0
    dummy_phone: int = 0
    repeated_phone_pairs: int = 0
    duplicate_person: int = 0
    burst_extra: int = 0
    missing_fields: int = 0
    orphan_orders: int = 0
    missing_consent: int = 0
    minor_without_guardian_consent: int = 0
    payment_before_signup: int = 0
    non_positive_amount: int = 0
    refund_exceeds_payment: int = 0
    activity_after_full_refund: int = 0
    future: Mapping[str, int] = field(default_factory=dict)  # table -> records
    before_opening: Mapping[str, int] = field(default_factory=dict)  # table -> records


@dataclass(frozen=True)
class Course:
    name: str
    category: str
    price: float


@dataclass(frozen=True)
class TargetSpec:
    """One fictional training school."""

    name: str
    company: str
    opened: dt.date
    signup_start: dt.date
    signup_end: dt.date
    as_of: dt.date
    calibration_end: dt.date
    burst_day: dt.date
    default_customers: int
    id_prefix: str
    order_prefix: str
    age_mix: tuple[tuple[int, int, float], ...]  # (min age, max age, weight)
    channels: tuple[tuple[str, float], ...]
    courses: tuple[Course, ...]
    defects: DefectPlan
    export: str  # csv_en | csv_gb18030 | xlsx
    email_share: float = 0.85
    messy_mobile_share: float = 0.0
    consent_transfer_share: float = 0.85
    consent_marketing_share: float = 0.60
    generator: Mapping[str, object] = field(default_factory=dict)


CHANNELS_ONLINE = (("search", 0.25), ("wechat", 0.25), ("douyin", 0.20), ("referral", 0.12),
                   ("offline", 0.05), ("partner", 0.13))
CHANNELS_BOOTCAMP = (("search", 0.22), ("wechat", 0.18), ("douyin", 0.16), ("referral", 0.16),
                     ("offline", 0.14), ("partner", 0.14))
CHANNELS_CERT = (("search", 0.30), ("wechat", 0.20), ("douyin", 0.08), ("referral", 0.17),
                 ("offline", 0.10), ("partner", 0.15))

ONLINE_COURSES = tuple(Course(n, c, 0.0) for n, c in (
    ("Python零基础入门", "programming"), ("Java核心技术", "programming"),
    ("Go语言实战", "programming"), ("C++从入门到精通", "programming"),
    ("前端Vue3实战", "programming"), ("React全家桶", "programming"),
    ("算法与数据结构", "programming"), ("SQL数据分析", "data"), ("Excel数据处理", "data"),
    ("机器学习入门", "data"), ("深度学习实战", "data"), ("Pandas数据清洗", "data"),
    ("Linux运维基础", "cloud"), ("Docker与K8s", "cloud"), ("阿里云ACP备考", "cloud"),
    ("UI设计基础", "design"), ("产品经理入门", "design"), ("网络安全入门", "security"),
    ("少儿Scratch编程", "programming"), ("少儿Python编程", "programming"),  # pupils: last two
))

BOOTCAMP_COURSES = (
    Course("Java全栈工程师就业班", "programming", 19800.0),
    Course("Web前端开发就业班", "programming", 15800.0),
    Course("Python数据分析实战营", "data", 16800.0),
    Course("大数据开发工程师班", "data", 22800.0),
    Course("云计算架构师训练营", "cloud", 21800.0),
    Course("DevOps运维开发班", "cloud", 18800.0),
    Course("网络安全渗透测试班", "security", 24800.0),
    Course("CISP-PTE认证实战班", "security", 28800.0),
    Course("青少年编程集训营", "programming", 12800.0),  # the pupils' course (index 8)
)

CERT_COURSES = (
    Course("年度会员", "membership", 1200.0),  # index 0: the membership
    Course("PMP认证冲刺班", "certification", 3800.0),
    Course("软考高级系统架构设计师", "certification", 2980.0),
    Course("AWS解决方案架构师认证班", "certification", 4200.0),
    Course("华为HCIP-Datacom认证班", "certification", 3600.0),
    Course("CISSP备考班", "certification", 5800.0),
    Course("信息学奥赛提高组", "certification", 2600.0),
)

@dataclass(frozen=True)
class FollowOn:
    """A product a bootcamp sells to its own students after their first course.

    ``course_days`` is the length of its lessons (0: a service without lessons);
    ``instalments`` whether it may be paid in instalments; ``weight`` its share of the
    follow-on purchases.
    """

    course: Course
    kind: str  # advanced_course | job_placement | certification_prep
    weight: float
    course_days: int = 0
    instalments: bool = False


BOOTCAMP_FOLLOW_ONS = (
    FollowOn(Course("Java架构师进阶课", "programming", 12800.0), "advanced_course", 0.12, 56, True),
    FollowOn(Course("大模型应用开发进阶课", "data", 14800.0), "advanced_course", 0.12, 56, True),
    FollowOn(Course("云原生Kubernetes进阶课", "cloud", 9800.0), "advanced_course", 0.08, 56, True),
    FollowOn(Course("红队攻防进阶课", "security", 13800.0), "advanced_course", 0.08, 56, True),
    FollowOn(Course("就业推荐服务", "career", 4800.0), "job_placement", 0.14),
    FollowOn(Course("高薪就业保障计划", "career", 9800.0), "job_placement", 0.08, 0, True),
    FollowOn(Course("软考中级备考班", "certification", 2980.0), "certification_prep", 0.16, 28),
    FollowOn(Course("PMP认证备考班", "certification", 3800.0), "certification_prep", 0.12, 28),
    FollowOn(Course("CISP认证备考班", "certification", 4800.0), "certification_prep", 0.10, 28),
)
"""Follow-on products of adult students (weights sum to 1)."""

BOOTCAMP_PUPIL_FOLLOW_ONS = (
    FollowOn(Course("青少年编程进阶营", "programming", 8800.0), "advanced_course", 0.6, 56),
    FollowOn(Course("信息学奥赛CSP-J备考班", "certification", 3600.0), "certification_prep", 0.4, 28),
)
"""Follow-on products of pupils under 14 (no job services, no instalments)."""

BOOTCAMP_LOG_HR: Mapping[str, float] = MappingProxyType({
    "channel[wechat]": 0.20, "channel[douyin]": 0.45, "channel[referral]": -0.35,
    "channel[offline]": -0.25, "channel[partner]": 0.15,
    "category[data]": 0.15, "category[cloud]": -0.20, "category[security]": 0.30,
    "first_order_value": -0.30, "satisfaction": -0.25,
    "age_band[25-34]": -0.15, "age_band[35-44]": 0.10, "age_band[45+]": 0.35,
    "minor": 0.40,
})

ONLINE = TargetSpec(
    name="online_school", company="码上学在线教育（示例）",
    opened=dt.date(2021, 9, 1), signup_start=dt.date(2022, 1, 3), signup_end=dt.date(2024, 6, 30),
    as_of=dt.date(2025, 6, 30), calibration_end=dt.date(2024, 12, 31),
    burst_day=dt.date(2023, 11, 11), default_customers=2000, id_prefix="U", order_prefix="OS",
    age_mix=((8, 13, 0.06), (14, 17, 0.06), (18, 24, 0.34), (25, 34, 0.38), (35, 44, 0.12),
             (45, 55, 0.04)),
    channels=CHANNELS_ONLINE, courses=ONLINE_COURSES, export="csv_en", messy_mobile_share=0.15,
    defects=DefectPlan(
        invalid_id_checksum=12, impossible_birth_date=6, dummy_phone=9, repeated_phone_pairs=4,
        duplicate_person=8, burst_extra=36, missing_fields=15, orphan_orders=7,
        missing_consent=18, minor_without_guardian_consent=5, payment_before_signup=6,
        non_positive_amount=5, refund_exceeds_payment=4, activity_after_full_refund=3,
        future={"customers": 1, "orders": 4, "activity": 3, "feedback": 2},
        before_opening={"customers": 2, "activity": 2, "feedback": 1},
    ),
    generator={
        "bgnbd": {"r": 0.9, "alpha": 6.0, "a": 0.6, "b": 3.5, "time_unit": "W"},
        "gamma_gamma": {"p": 8.0, "q": 5.0, "gamma": 200.0},
    },
)

BOOTCAMP = TargetSpec(
    name="bootcamp", company="极客营IT职业训练营（示例）",
    opened=dt.date(2020, 3, 1), signup_start=dt.date(2021, 1, 4), signup_end=dt.date(2025, 3, 31),
    as_of=dt.date(2025, 6, 30), calibration_end=dt.date(2024, 12, 31),
    burst_day=dt.date(2023, 3, 15), default_customers=2500, id_prefix="BC", order_prefix="BD",
    age_mix=((10, 13, 0.05), (18, 24, 0.38), (25, 34, 0.38), (35, 44, 0.13), (45, 52, 0.06)),
    channels=CHANNELS_BOOTCAMP, courses=BOOTCAMP_COURSES, export="csv_gb18030",
    email_share=0.9,
    defects=DefectPlan(
        invalid_id_checksum=9, impossible_birth_date=5, dummy_phone=7, repeated_phone_pairs=3,
        duplicate_person=6, burst_extra=34, missing_fields=11, orphan_orders=5,
        missing_consent=14, minor_without_guardian_consent=4, payment_before_signup=4,
        non_positive_amount=6, refund_exceeds_payment=3, activity_after_full_refund=5,
        future={"customers": 1, "orders": 2, "activity": 3, "feedback": 1},
        before_opening={"customers": 1, "activity": 2, "feedback": 2},
    ),
    generator={
        "survival": {
            "model": "weibull_ph", "shape": 1.3, "scale_days": 60.0,
            "log_hazard_ratios": dict(BOOTCAMP_LOG_HR),
        },
        "course_days": 84, "attendance_per_week": 1.5, "logins_per_week": 0.7,
        "follow_on": {
            "r": 1.0, "alpha": 45.0, "time_unit": "W",
            "instalment_share": 0.35, "instalment_counts": (3, 6),
            "full_refund_share": 0.5, "full_refund_within_days": 14,
        },
    },
)

CERT = TargetSpec(
    name="cert_school", company="智证职业认证学院（示例）",
    opened=dt.date(2017, 9, 1), signup_start=dt.date(2018, 1, 1), signup_end=dt.date(2024, 12, 31),
    as_of=dt.date(2025, 6, 30), calibration_end=dt.date(2024, 6, 30),
    burst_day=dt.date(2022, 11, 11), default_customers=2000, id_prefix="M", order_prefix="CS",
    age_mix=((10, 13, 0.04), (14, 17, 0.03), (18, 24, 0.15), (25, 34, 0.45), (35, 44, 0.25),
             (45, 58, 0.08)),
    channels=CHANNELS_CERT, courses=CERT_COURSES, export="xlsx", messy_mobile_share=0.10,
    defects=DefectPlan(
        invalid_id_checksum=8, impossible_birth_date=4, dummy_phone=6, repeated_phone_pairs=3,
        duplicate_person=5, burst_extra=33, missing_fields=10, orphan_orders=4,
        missing_consent=12, minor_without_guardian_consent=3, payment_before_signup=3,
        non_positive_amount=4, refund_exceeds_payment=3, activity_after_full_refund=3,
        future={"customers": 1, "orders": 2, "activity": 2, "feedback": 1},
        before_opening={"customers": 1, "activity": 1, "feedback": 1},
    ),
    generator={
        "sbg": {"alpha": 0.9, "beta": 2.6, "period": "year", "membership_fee": 1200.0},
        "exam_course_per_year": 0.25,
    },
)

TARGETS: Mapping[str, TargetSpec] = MappingProxyType(
    {spec.name: spec for spec in (ONLINE, BOOTCAMP, CERT)}
)

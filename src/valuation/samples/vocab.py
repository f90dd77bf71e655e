"""Embedded word lists of the sample generator: names, places, phone prefixes, texts.

Everything here is fictional-data material: common Chinese family and given name characters
(with pinyin for e-mail addresses), region codes of real provincial capitals (so generated
resident ID numbers look real), mobile prefixes of the mainland carriers, cities by tier and
feedback sentences. Nothing here identifies a real person.
"""

from __future__ import annotations

FAMILY_NAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "wang", 7.1), ("李", "li", 7.0), ("张", "zhang", 6.7), ("刘", "liu", 5.4),
    ("陈", "chen", 4.5), ("杨", "yang", 3.1), ("黄", "huang", 2.2), ("赵", "zhao", 2.0),
    ("吴", "wu", 2.0), ("周", "zhou", 1.9), ("徐", "xu", 1.5), ("孙", "sun", 1.4),
    ("马", "ma", 1.3), ("朱", "zhu", 1.3), ("胡", "hu", 1.2), ("郭", "guo", 1.1),
    ("何", "he", 1.1), ("林", "lin", 1.0), ("罗", "luo", 1.0), ("高", "gao", 1.0),
    ("郑", "zheng", 0.9), ("梁", "liang", 0.9), ("谢", "xie", 0.8), ("宋", "song", 0.7),
    ("唐", "tang", 0.7), ("许", "xu", 0.7), ("韩", "han", 0.6), ("冯", "feng", 0.6),
    ("邓", "deng", 0.6), ("曹", "cao", 0.6), ("彭", "peng", 0.6), ("曾", "zeng", 0.5),
    ("肖", "xiao", 0.5), ("田", "tian", 0.5), ("董", "dong", 0.5), ("袁", "yuan", 0.5),
    ("潘", "pan", 0.4), ("于", "yu", 0.4), ("蒋", "jiang", 0.4), ("蔡", "cai", 0.4),
    ("余", "yu", 0.4), ("杜", "du", 0.4), ("叶", "ye", 0.4), ("程", "cheng", 0.4),
    ("苏", "su", 0.3), ("魏", "wei", 0.3), ("吕", "lv", 0.3), ("丁", "ding", 0.3),
    ("任", "ren", 0.3), ("沈", "shen", 0.3), ("姚", "yao", 0.3), ("卢", "lu", 0.3),
    ("姜", "jiang", 0.3), ("崔", "cui", 0.3), ("钟", "zhong", 0.3), ("谭", "tan", 0.3),
    ("陆", "lu", 0.2), ("汪", "wang", 0.2), ("范", "fan", 0.2), ("金", "jin", 0.2),
    ("石", "shi", 0.2), ("廖", "liao", 0.2), ("贾", "jia", 0.2), ("夏", "xia", 0.2),
    ("韦", "wei", 0.2), ("付", "fu", 0.2), ("方", "fang", 0.2), ("白", "bai", 0.2),
    ("邹", "zou", 0.2), ("孟", "meng", 0.2), ("熊", "xiong", 0.2), ("秦", "qin", 0.2),
    ("邱", "qiu", 0.2), ("江", "jiang", 0.2), ("尹", "yin", 0.2), ("薛", "xue", 0.2),
    ("欧阳", "ouyang", 0.05), ("司马", "sima", 0.02), ("诸葛", "zhuge", 0.01),
)
"""(characters, pinyin, relative frequency in %)."""

GIVEN_CHARS: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀", "xiu"),
    ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂", "gui"), ("英", "ying"), ("华", "hua"),
    ("玉", "yu"), ("萍", "ping"), ("红", "hong"), ("鹏", "peng"), ("辉", "hui"), ("建", "jian"),
    ("国", "guo"), ("俊", "jun"), ("浩", "hao"), ("宇", "yu"), ("轩", "xuan"), ("子", "zi"),
    ("涵", "han"), ("梓", "zi"), ("欣", "xin"), ("怡", "yi"), ("思", "si"), ("雨", "yu"),
    ("晨", "chen"), ("博", "bo"), ("文", "wen"), ("佳", "jia"), ("嘉", "jia"), ("琪", "qi"),
    ("诗", "shi"), ("睿", "rui"), ("泽", "ze"), ("昊", "hao"), ("然", "ran"), ("一", "yi"),
    ("可", "ke"), ("馨", "xin"), ("瑶", "yao"), ("婷", "ting"), ("雪", "xue"), ("慧", "hui"),
    ("晓", "xiao"), ("东", "dong"), ("海", "hai"), ("波", "bo"), ("斌", "bin"), ("宁", "ning"),
    ("凯", "kai"), ("帆", "fan"), ("阳", "yang"), ("林", "lin"), ("鑫", "xin"), ("彤", "tong"),
    ("璐", "lu"), ("颖", "ying"), ("倩", "qian"), ("楠", "nan"), ("岩", "yan"), ("峰", "feng"),
    ("坤", "kun"), ("晶", "jing"), ("蕾", "lei"), ("亮", "liang"), ("健", "jian"), ("飞", "fei"),
)
"""Characters of given names with their pinyin (one or two are drawn per name)."""

REGION_CODES: tuple[str, ...] = (
    "110101", "110105", "110108", "120101", "130102", "140105", "150102", "210102",
    "220102", "230102", "310101", "310104", "310115", "320102", "320106", "330106",
    "330102", "340104", "350102", "360102", "370102", "410105", "420102", "420106",
    "430102", "440104", "440106", "450103", "460106", "500103", "510104", "510107",
    "520102", "530102", "540102", "610113", "610103", "620102", "630102", "640104",
    "650102",
)
"""Six-digit administrative codes of districts of the provincial capitals (GB/T 2260)."""

MOBILE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "133", "134", "135", "136", "137", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "191", "195",
    "198", "199",
)
"""Mainland mobile prefixes (138 is left out so no natural number is near a dummy)."""

PLANTED_DUMMIES: tuple[str, ...] = ("13800000000", "13888888888", "11111111111", "12345678901")
"""Dummy numbers a sales clerk types when the customer gave none (planted ``dummy_phone``).
Natural numbers never start with 138 or 12x, so none of them is ever a dummy."""

EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("qq.com", 0.34), ("163.com", 0.24), ("126.com", 0.10), ("foxmail.com", 0.06),
    ("sina.com", 0.05), ("outlook.com", 0.07), ("gmail.com", 0.06), ("139.com", 0.04),
    ("hotmail.com", 0.04),
)

CITIES: tuple[tuple[str, str, float], ...] = (
    ("北京", "tier1", 7.0), ("上海", "tier1", 7.0), ("广州", "tier1", 5.0), ("深圳", "tier1", 6.0),
    ("成都", "new_tier1", 3.5), ("杭州", "new_tier1", 3.5), ("重庆", "new_tier1", 3.0),
    ("武汉", "new_tier1", 3.0), ("西安", "new_tier1", 2.5), ("苏州", "new_tier1", 2.0),
    ("南京", "new_tier1", 2.5), ("天津", "new_tier1", 2.0), ("长沙", "new_tier1", 2.0),
    ("郑州", "new_tier1", 2.0), ("东莞", "new_tier1", 1.5), ("青岛", "new_tier1", 1.5),
    ("合肥", "new_tier1", 1.5), ("佛山", "new_tier1", 1.2), ("宁波", "new_tier1", 1.2),
    ("厦门", "tier2", 1.0), ("福州", "tier2", 1.0), ("济南", "tier2", 1.0), ("大连", "tier2", 1.0),
    ("沈阳", "tier2", 1.0), ("昆明", "tier2", 1.0), ("哈尔滨", "tier2", 0.8),
    ("长春", "tier2", 0.8), ("石家庄", "tier2", 0.8), ("南宁", "tier2", 0.8),
    ("贵阳", "tier2", 0.8), ("南昌", "tier2", 0.8), ("太原", "tier2", 0.7),
    ("无锡", "tier2", 0.8), ("温州", "tier2", 0.7), ("珠海", "tier2", 0.6),
    ("洛阳", "other", 0.5), ("绵阳", "other", 0.4), ("赣州", "other", 0.4), ("襄阳", "other", 0.4),
    ("宜昌", "other", 0.4), ("芜湖", "other", 0.4), ("柳州", "other", 0.3), ("桂林", "other", 0.3),
    ("遵义", "other", 0.3), ("曲靖", "other", 0.3), ("湛江", "other", 0.3), ("盐城", "other", 0.3),
    ("丽水", "other", 0.2), ("张家口", "other", 0.2), ("天水", "other", 0.2), ("安顺", "other", 0.2),
)
"""(city, tier, relative weight): tier-1, new tier-1, tier-2 and smaller cities."""

POSITIVE_TEXTS: tuple[str, ...] = (
    "老师讲得很清楚，案例也很实用。", "课程内容扎实，学到了很多。", "助教回复很及时，点赞！",
    "作业批改认真，进步很快。", "项目实战很有收获，推荐给同事了。", "直播课互动好，节奏合适。",
    "课程安排合理，讲义质量高。", "整体满意，会继续报名下一期。",
)
NEUTRAL_TEXTS: tuple[str, ...] = (
    "内容还可以，部分章节有点快。", "一般吧，希望多一些练习题。", "视频清晰度一般，内容尚可。",
    "课程不错但价格偏高。", "希望增加周末的答疑时间。",
)
NEGATIVE_TEXTS: tuple[str, ...] = (
    "讲得太快跟不上，体验不好。", "答疑很慢，问题一直没解决。", "内容和宣传的不一致，失望。",
    "排课经常变动，影响工作安排。", "平台经常卡顿，看不了回放。",
)

PII_PHONE_TEMPLATES: tuple[str, ...] = (
    "想咨询续报的优惠，我的手机{v}，麻烦回电。", "老师好，课程群进不去，请加我微信{v}。",
    "退款进度请电话通知我：{v}", "请班主任联系{v}，谢谢。",
)
PII_EMAIL_TEMPLATES: tuple[str, ...] = (
    "课件请发到我的邮箱{v}，谢谢。", "发票请寄送电子版到{v}。", "结业证书请发{v}。",
)
PII_NAME_TEMPLATES: tuple[str, ...] = (
    "我是{v}，上周的作业还没有批改。", "学员{v}：希望能调到晚班。", "{v}留言：课程很好，感谢老师。",
)

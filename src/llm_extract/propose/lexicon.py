"""The words that decide whether a number counts something: measure words (量词) and the word
classes around them. Data only, in one place; `numbers` builds its unit pattern from here and
`candidates` and `names` their rules.

The inventory is that of standard Chinese grammar (个体量词, 集合量词, 动量词, 复合量词, 度量衡)
plus the counting units of administrative text. It is deliberately not the list of words met in
the five reports of `reports/`: a rule or list tuned to them is a defect.
"""

from __future__ import annotations

# --- Measure words ---------------------------------------------------------------------------
# Individual classifiers (个体量词): one of a thing; they stand before the counted noun
# (19个网格) or after it (摊点18个).
PERSON_CLASSIFIERS = ("人", "名", "位")
INDIVIDUAL_CLASSIFIERS = (
    *PERSON_CLASSIFIERS,
    "个",
    "户", "家", "所", "座", "处", "间", "栋", "幢",  # households, organisations, buildings, sites
    "台", "部", "辆", "艘", "架",  # machines, vehicles, works (3部法规)
    "棵", "株", "头", "匹", "只", "口", "眼",  # plants, animals, wells
    "条", "张", "本", "册", "份", "篇", "封", "首", "幅", "块", "面", "枚", "卷",  # texts, objects
    "根", "盏", "把", "道", "门", "堂", "节",  # long or handled objects, courses and lessons
    "件", "项", "宗", "起", "例", "笔", "单",  # matters, cases, transactions
)
# Collective and kind classifiers (集合量词, 种类量词): a group or a sort of things.
KIND_CLASSIFIERS = ("类", "大类", "种")
COLLECTIVE_CLASSIFIERS = ("批", "群", "支", "队", "组", "套", *KIND_CLASSIFIERS)
# Event classifiers (动量词): how many times an action happened.
EVENT_CLASSIFIERS = ("次", "场", "轮", "遍", "趟", "期", "届")
# Compound classifiers (复合量词): a product of two counts (人次 = people × times).
COMPOUND_CLASSIFIERS = ("人次", "户次", "家次", "件次", "条次", "批次", "场次", "台次", "车次", "架次",
                        "艘次", "班次")
# Time spent. 年, 月, 日, 周 and 季度 are NOT units: after a number they are almost always dates
# (2024年, 2月20日, 第三季度), and the guide excludes dates and durations used as dates. A
# duration that is a count of work done is written with these units (培训16课时, 服务120小时).
# 个月 and 个工作日 are listed so that longest-match does not read "3个月" as 3 个 of 月.
TIME_UNITS = ("天", "小时", "分钟", "课时", "学时", "个工作日", "个月")
# Money. 万元 and 亿元 are read as a multiplier (MULTIPLIERS) plus 元: the value carries the
# multiplier and the unit is 元, as the guide asks.
MONEY_UNITS = ("元",)
# Weights and measures (度量衡).
MEASURE_UNITS = ("亩", "公顷", "平方米", "平方公里", "立方米", "米", "公里", "千米", "吨", "公斤", "千克",
                 "千瓦")
# Ratios. 成 (tenths) only where it cannot start a word (see UNIT_NEEDS_BOUNDARY).
RATIO_UNITS = ("%", "％", "个百分点", "成", "倍")
# Quasi-classifiers (准量词): nouns of administrative text counted without a classifier
# (13部门联合, 涉及6领域).
QUASI_CLASSIFIERS = ("部门", "领域")
# After 大 in "N大X" (6大行业领域 = six major sectors) the head noun carries the count; 大 is a
# pseudo-classifier and the unit is the head noun.
BIG_HEADS = ("领域", "行业", "板块", "部门", "类")
BIG_MODIFIER_MAX = 3  # characters between 大 and the head: 6大[行业]领域

UNITS = tuple(dict.fromkeys((
    *INDIVIDUAL_CLASSIFIERS, *COLLECTIVE_CLASSIFIERS, *EVENT_CLASSIFIERS, *COMPOUND_CLASSIFIERS,
    *TIME_UNITS, *MONEY_UNITS, *MEASURE_UNITS, *RATIO_UNITS, *QUASI_CLASSIFIERS,
    # as written in the reports' own style: "32 场次数", "1056 余次数" (the count of times)
    "次数", "场次数",
)))
# Units as written that normalise to another unit (the guide: 场次数 → 场次, 次数 → 次).
UNIT_ALIASES = {"次数": "次", "场次数": "场次", "％": "%"}

# A classifier character that begins a common word is not a classifier there: "3部署" is not
# 3 部, "一把手" is a title. Whether it does is the segmenter's question (candidates drops a
# quantity whose unit begins a longer word, `words`); listed here, keyed by the classifier, are
# only the characters the segmenter's dictionary does not join to it after a number (座右, 本年,
# 所需), for the scanner to guard.
NOT_A_CLASSIFIER_BEFORE = {
    "座": "右",  # 座右铭
    "本": "年",  # 本年度 (this year)
    "所": "需",  # 所需 (what is needed)
}
# Units that count only at a word boundary (a delimiter, the end, an approximation word or 的):
# 成 begins too many words (成立, 成员, 成效) to be read as tenths anywhere else.
UNIT_NEEDS_BOUNDARY = ("成",)

# --- Numerals --------------------------------------------------------------------------------
CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}
CN_SMALL = {"十": 10, "百": 100, "千": 1000}
CN_LARGE = {"万": 10_000, "亿": 100_000_000}
MULTIPLIERS = {"万": 10_000, "亿": 100_000_000, "千": 1000}  # after digits: 2.5万元, 3千元
# A lone power of ten written as one character (百名干部, 千家万户, 入千户) is a figure of speech
# for "hundreds / thousands", never an exact count.
ROUND_FIGURES = ("百", "千", "万", "亿")
# 数十次, 几十人, 数百名: 数 and 几 make any bare power of ten vague.
VAGUE_PREFIXES = ("数", "几")
# Before a bare power of ten, words of approximation make it a round count (近百人, 上千件, 数十次,
# 约百名): a count, approximate. Without them 百名干部 and 千家万户 are figures of speech.
ROUND_APPROX = ("近", "上", "数", "几", "约", "逾", "超", "过", "成")

# Approximation words (the guide: 余, 多, 近, 约, 以上, 超过, 不低于, 左右).
PREFIX_APPROX = ("不低于", "不少于", "超过", "超", "近", "约", "逾")
BEFORE_UNIT_APPROX = ("余", "多")  # 60余次, 7000多人
AFTER_UNIT_APPROX = ("以上", "左右")  # 2人以上
PERCENT_WORD = "百分之"  # 百分之百, 百分之九十五: a percentage written in words

# --- Word classes that decide whether a counted-looking number is a count --------------------
# Abstract nouns that, after a Chinese numeral and a classifier, name a classification, a
# scope or a slogan rather than things counted: 从七个方面, 两个重点, 执法四张清单, 八项规定,
# 十个重点领域, 四个意识. With Arabic digits the same words are counted (6个领域).
SCOPE_NOUNS = (
    "方面", "领域", "重点", "清单", "制度", "规定", "机制", "体系", "原则", "要求", "任务", "环节",
    "维度", "层面", "目标", "意识", "自信", "维护", "确立", "全面", "工程", "行动", "举措", "措施",
    "标准", "类别", "板块", "模式", "理念", "职能", "功能", "责任", "纪律", "禁令", "作风",
)
# Derivational suffixes that fuse a numeral and its classifier into one word (一次性, 一体化,
# 一站式): the number no longer counts anything.
FUSING_SUFFIXES = ("性", "式", "化", "型")
# Morphemes of joint action (联防, 联动, 互助, 共治): a four-character phrase numeral +
# classifier + one of these + a verb names a mechanism (十户联防), it does not count households.
JOINT_MORPHEMES = ("联", "互", "共")
# Words whose first two characters are 一 + a classifier but which are adverbs (一起, 一道 and
# 一块 = together) or titles (一把手): the numeral does not count.
NUMERAL_WORDS = ("一起", "一道", "一块", "一把手", "一度", "一面", "一头", "一手")
# Classifiers after which Chinese 一 is the indefinite article ("作为一项指标", "一批骨干",
# "一支队伍"), not a count of one: every individual and collective classifier except those
# counting people, whose "一名/一人" reads as one person and is left to the model.
ARTICLE_CLASSIFIERS = tuple(u for u in (*INDIVIDUAL_CLASSIFIERS, *COLLECTIVE_CLASSIFIERS)
                            if u not in PERSON_CLASSIFIERS)
# Session numbers (十九届, 二十届) and levels: with a Chinese numeral 届 numbers a congress
# or a committee, it does not count events. 级 (levels, 四级联动, 镇村两级) is not a unit at all.
ORDINAL_CLASSIFIERS = ("届",)
# A session of a congress numbered by 届 and 次 (十四届三次全会): after 届, or before 全会 (a plenary
# is numbered, 三次全会 is the third), 次 numbers the session; 召开全会3次 and 召开三次会议 count.
SESSION_NOUNS = ("全会",)
# 一次都不跑, 一件也没有: one X and 都/也 with a negation says "not even one", not a count.
EMPHATIC_NEGATION = ("都不", "也不", "都没", "也没", "都无", "也无")

# Policy packages named by their count (国家33条, 省48条, 稳经济12条措施): the number names a
# document, it does not count work done. A package is written N条/N项/N款 followed by one of
# these nouns, or an issuer right before the number (省48条).
POLICY_UNITS = ("条", "项", "款")
POLICY_NOUNS = ("政策", "措施", "举措", "意见", "规定", "办法", "细则", "禁令", "条例", "要求")
POLICY_ISSUERS = ("国务院", "国家", "中央", "国", "省委", "省政府", "省", "市委", "市政府", "市", "县委",
                  "县政府", "县", "区委", "区政府", "区", "我省", "我市", "我县", "我区")
# Scope words that make the following 省/市/县/区 a territory, not an issuer: 全省48条 counts.
TERRITORY_PREFIXES = ("全", "本", "该", "各", "辖", "跨", "外")
# Verbs that put a policy package to work; a package name follows them in the same sentence.
POLICY_CUES = ("落实", "贯彻", "执行", "实施", "出台", "印发", "制定", "发布", "兑现", "推行", "对照",
               "按照", "依据", "根据", "学习")
# Of those, the verbs by which a body issues measures itself (出台稳企12条措施): with no higher
# issuer named before the number, the measures are its own output and are counted.
ISSUING_VERBS = ("出台", "印发", "制定", "发布")

# Modal words of rules and thresholds (执法人员需2人以上, 至少配备1名): the number is a
# requirement, not a count of what was done.
# A bare 应 is left out: it starts 应急 (应急演练16次 is a count).
# 最多跑一次 and 至多 set an upper bound: a service promise, not a count of what was done.
REQUIREMENT_WORDS = ("不得少于", "至少", "最多", "至多", "应当", "应该", "必须", "需要", "需", "须")
# 需求 (a need) is a noun; 所需, 急需, 必需 and 无需 are adjectives or negations, not modals.
NOT_REQUIREMENT = ("需求", "所需", "急需", "必需", "无需", "无须")
REQUIREMENT_REACH = 4  # characters between the modal and the number: 需配备2人以上

# Words before a time unit that make it a duration or a deadline (为期3天, 3个工作日内).
DURATION_PREFIXES = ("为期", "期限", "时限", "用时", "历时")
DEADLINE_SUFFIXES = ("内", "以内")

# Ordinals (第3名, 第一责任人) and ranks (位列前3名): the number orders, it does not count.
ORDINAL_PREFIX = "第"
RANK_PREFIX = "前"
RANK_UNITS = ("名", "位")

# --- Naming: words that are not the counted thing ---------------------------------------------
# Enumerators and connectives that open a clause (一是, 其一, 首先, 同时).
ENUMERATOR_WORDS = ("首先", "其次", "再次", "最后", "一方面", "另一方面", "同时", "另外", "此外", "并且",
                    "而且", "以及", "其中", "并", "且", "还", "又", "再", "也")
# Time words: when, not what (年内, 今年以来, 截至目前).
TIME_WORDS = ("今年以来", "年初以来", "以来", "截至目前", "截至年底", "截至年末", "截至", "目前", "至今",
              "年内", "全年", "今年", "本年度", "本年", "上半年", "下半年", "当年", "近年来", "期间",
              "同期", "先后", "已经", "已", "均", "都")
# Totalisers (累计, 共计): how much, not what; before or after the counted words.
TOTALISERS = ("累计", "共计", "总计", "合计", "总共", "一共", "共")
# Verbs of amounting and approximation words between the counted words and the number
# (浏览人次达7000人, 资料共2000余份): only ever at the end of the words before a number.
# (约, 近, 超过 right before a number belong to the quantity: numbers.PREFIX_APPROX.)
AMOUNT_WORDS = ("达到", "约为", "高达", "多达", "突破", "了")
# One-character linking verbs end many words (行为, 审计, 送达, 拥有): they are dropped only after
# the measure they link to its number (人数为300, 人次达7000, 覆盖率达100%).
LINKING_VERBS = ("达", "为", "有", "是", "计")
MEASURE_HEADS = "数率量额次员人值比"
# 达 (amounting to) follows any noun (发放手册达1200册); it ends only resultative verbs.
REACH = "达"
NOT_REACH = ("送达", "下达", "传达", "到达", "表达", "抵达", "转达", "通达", "直达", "发达", "上达")
# 等 (etc.) closes a list before its total (宣传册、宣传单等3000份), except in words of equality.
ETC = "等"
NOT_ETC = ("平等", "同等", "对等", "均等", "高等", "等等")
NOT_ETC_BEFORE = "级待候同于次"  # 等级, 等待, 等同, 等次: 等 starts a word
# The reporting body speaking of itself (我局, 本单位): who, not what.
SELF_REFERENCE = ("我", "本")
SELF_BODIES = ("局", "镇", "县", "区", "乡", "委", "办", "所", "院", "市", "旗", "部门", "单位", "街道", "中心",
               "系统")
# Comparisons before a change (较去年提升3.2个百分点): the baseline, not the thing.
COMPARISON_WORDS = ("较上一年", "较去年", "较上年", "比去年", "比上年", "同比", "环比")
# Scope words that say where, not what (全镇, 全县, 辖区内); 镇级 and 村级 say what and stay.
SCOPE_PREFIX = "全"
# Units as words, not characters: a character class would take 社 of 全社会 or 道 of 全道路.
SCOPE_UNITS = ("国", "省", "州", "盟", "市", "县", "区", "旗", "镇", "乡", "街道", "社区", "村")
SCOPE_WORDS = ("辖区内", "辖区", "全体", "各村", "各社区", "各单位", "各部门")
# Determiners inside a name (查出各类隐患 → 查出隐患).
DETERMINERS = ("各类", "各项", "各种", "各级", "相关", "有关", "各")
# Manner and degree adverbs before the verb (the guide: 成功, 积极, 依法). Not 新 (新招录 in the
# guide): 新增 and 新建 are verbs.
MANNER_ADVERBS = ("成功", "积极", "依法", "认真", "及时", "主动", "扎实", "深入", "持续", "广泛", "常态化",
                  "有效", "全面", "切实", "科学", "充分", "大力", "不断", "进一步")
# Light verbs (形式动词): they carry no content; the event after them is what was done
# (开展安全知识宣传 → 安全知识宣传). The dummy ones also end a subject or a phrase of means
# before them (干部夜校等方式组织领导干部集中学法 → 领导干部集中学法).
DUMMY_VERBS = ("组织开展", "开展", "组织", "进行", "举办")
LIGHT_VERBS = (*DUMMY_VERBS, "召开", "实施", "提供", "做好", "完成", "加以", "予以", "给予")
# Verbs of setting up or having: the counted thing is the noun after the unit, not the verb
# (成立19个工作队 → 工作队).
EXISTENCE_VERBS = ("成立", "建立", "设立", "组建", "组成", "配备", "配齐", "设置", "划分", "拥有", "建成",
                   "覆盖", "涵盖", "包括", "辖", "有")
# Verbs of purpose or attainment before a target (确保群众满意率达98%, 力争办结率100%): what is
# measured is the thing after them.
PURPOSE_VERBS = ("确保", "力争", "争取", "保证", "做到", "实现", "达成")
# Prepositions that open a phrase of means or scope before the verb (通过…等形式, 面向农牧民),
# and the words that close such a phrase.
PREPOSITIONS = ("通过", "利用", "借助", "依托", "围绕", "结合", "针对", "面向", "按照", "根据", "在", "以")
PREPOSITION_CLOSERS = ("为契机", "为主题", "为重点", "为主的", "为主", "形式", "方式", "平台", "之际", "期间",
                       "中", "上")
# "…等形式" closes a phrase of means wherever it starts (the clause may begin inside it).
MEANS_CLOSERS = ("等多种形式", "等多种方式", "等形式", "等方式", "等途径", "等渠道", "等平台", "等载体", "等手段")
# A count of people or of times named after an action gets the measure it counts
# (列入红榜 60 人 → 列入红榜人数). Keyed by unit; the value is the suffix.
MEASURE_SUFFIX = {"人": "人数", "名": "人数", "位": "人数", "人次": "人次", "户": "户数", "次": "次数",
                  "场": "场次", "场次": "场次", "元": "金额", "批": "批次", "批次": "批次", "轮": "轮数",
                  "件": "件数", "起": "起数", "家": "数", "个": "数"}
# Nouns that already name people: no 人数 after them (矫正对象 58 人 is 矫正对象).
PERSON_NOUNS = ("人", "员", "者", "对象", "干部", "群众", "人数", "人次", "律师", "顾问", "代表", "学生",
                "职工", "党员", "居民", "村民", "农牧民", "师", "长", "户")
# Prepositions left alone once the scope after them is dropped (对全镇16个嘎查村 → 嘎查村).
LONE_PREPOSITIONS = "对向为在给于从把将被与和及"
# A generic head that says nothing of what was done (安全生产检查工作 → 安全生产检查).
GENERIC_HEADS = ("工作",)
# Nouns that already say money: no 金额 after them.
MONEY_NOUNS = ("金额", "资金", "经费", "费用", "款额", "元")
# Verbs are mostly two characters: after a longer lead, its last two are the verb that acts on
# the noun after the unit (目前青龙镇聘请1名律师 → 聘请律师).
VERB_CHARS = 2
# Directional complements after a verb (拓展到, 压缩至): the verb is before them.
COMPLEMENTS = ("到", "至")
# Conjunctions that end a lead (三定规定和|23家单位): what precedes belongs to another count.
CONJUNCTIONS = ("和", "及", "与", "或", "、")
# Heads of noun phrases: where a counted noun that runs on into its predicate ends
# (278项|行政许可事项|统一划入…, 227家|机构|给予行政告诫…).
NOUN_HEADS = ("事项", "案件", "人员", "单位", "企业", "文件", "材料", "组织", "机构", "中心", "站", "室",
              "队", "网格", "群众", "对象", "问题", "隐患", "纠纷", "活动", "项目", "场所", "平台", "窗口",
              "事件", "线索", "信息", "会议", "证书", "书", "牌", "栏", "点", "村", "社区", "户", "家庭")
# Percentages after a verb of change name the change (下降 22% → 降幅).
CHANGE_WORDS = {"同比下降": "降幅", "同比减少": "降幅", "下降": "降幅", "减少": "降幅", "降低": "降幅",
                "同比增长": "增幅", "同比上升": "增幅", "增长": "增幅", "上升": "增幅", "提高": "增幅",
                "提升": "增幅"}
# Closed-class words that begin a predicate: the counted noun after a unit stops before them
# (5起信访案件已全部办结 → 信访案件).
# 和/及/与 join nouns (鱼塘及蓄水池) and do not stop it.
PREDICATE_STARTS = ("已", "均", "都", "全", "全部", "全面", "全都", "均已", "都已", "已经", "皆", "也", "还", "正", "被", "得到", "将", "并", "予以", "进行",
                    "开展", "实现", "达到", "参与", "参加", "受益", "覆盖", "完成", "办结", "得以", "作为",
                    "的", "等")
TRAILING_NOUN_MAX = 12

"""The word classes the checks read, as data. Each is a grammatical or semantic class of the
language of these reports (verbs of receiving versus verbs of concluding, words of change, words
that name a part of a stated whole), never phrases of particular reports.
"""

from __future__ import annotations

import re

# A percentage that is a change or a ratio to another quantity, not a share of a whole, may
# exceed 100%: words of change (增长, 下降, 同比 …) and words naming the base it is compared with
# (上年, 目标, 任务, 计划 …: 完成年度目标的120%, 是去年的150%), and 超 (超额完成).
CHANGE = re.compile(
    r"增长|增加|增幅|增速|增量|提高|提升|上升|上涨|涨幅|攀升|下降|降低|减少|减幅|降幅|下滑|回落|压减|缩减"
    r"|同比|环比|比上|较上|比去|较去|比前|较前|较\d|比\d|同期|翻番|翻了|翻一番|倍")
BASE = re.compile(r"目标|任务|计划|指标|预算|基数|定额|上年|去年|上一年|前一年|年初|基准|超")

# Verbs that bring a set of cases in (the whole) and verbs that conclude some of them (a part).
# 受理 is both: the part of what was received (收到30件，受理28件), the whole of what is concluded.
WHOLE_VERBS = ("收到", "接到", "接收", "接待", "收集", "收悉", "排查", "摸排", "发现", "查出", "检查出", "上报", "报送",
               "登记", "受理", "立案", "受案", "交办", "转办", "转交", "承办", "涉及", "共有")
PART_VERBS = ("办结", "结案", "审结", "办理完毕", "处理完毕", "处理", "处置", "化解", "调处", "解决", "答复",
              "回复", "整改", "销号", "成功", "完成", "落实", "受理", "采纳", "办复", "见面")
WHOLE_RE = re.compile("|".join(sorted(WHOLE_VERBS, key=len, reverse=True)))
PART_RE = re.compile("|".join(sorted(PART_VERBS, key=len, reverse=True)))

# Words that introduce the parts of the quantity before them (X起，其中Y起).
PART_MARKERS = re.compile(r"其中|包括|包含|含")
# A clause's leading words of time, which are not its verb (全年调处…, 今年以来受理…).
LEAD_TIME = re.compile(r"^(?:全年|今年以来|今年|以来|年内|本年度|本年|当年|年度|年以来|年)+")
# Words that introduce a total of the quantities listed before them (A、B，共计N).
TOTAL_MARKERS = re.compile(r"^(?:共计|合计|总计|总共|共)")
# Words saying that some cases are not concluded yet: a rate beside them is not simply part/whole.
# (上年 alone is a comparison, 较上年提高: only what is carried over from it leaves cases aside.)
REMAINDER = re.compile(r"其余|剩余|尚在|尚未|仍在|正在|期限内|未到期|在办|待办|未办结|未结|结转|积存|遗留")
# A rate stated as a share of the count before it: 占90%, 占比90%, 占总数的90%.
SHARE = re.compile(r"占")
# Characters that are neither words of the clause nor its number (to read a clause's object).
FILLER = re.compile(r"[\s\d０-９.,，、:：;；（）()“”\"'《》]|各类|各项|各种|共计|累计|合计|总计|共|已|了|均|全部|及时|依法|成功地")

import pytest

from llm_extract.propose.numbers import find_quantities, parse_chinese, parse_number


@pytest.mark.parametrize(
    ("text", "value", "value_max", "unit", "approx"),
    [
        ("上缴罚款 2.5 万余元", 25000, None, "元", True),
        ("每周常态化治安巡查检查1-2次", 1, 2, "次", False),
        ("专题学习12余次", 12, None, "次", True),
        ("新招录两名持有法律资格A证干部", 2, None, "名", False),
        ("违约人数同比下降 22%", 22, None, "%", False),
        ("累计公开信息1759条", 1759, None, "条", False),
        ("罚款90万余元", 900000, None, "元", True),
        ("持续开展法治宣传教育活动 32 场次数", 32, None, "场次", False),
        ("转发相关宣传信息 1056 余次数", 1056, None, "次", True),
        ("参加人员 120 多人次", 120, None, "人次", True),
        ("近三十次", 30, None, "次", True),
        ("超过1.2亿元", 120_000_000, None, "元", True),
        ("发放四份", 4, None, "份", False),
        ("培训１２次", 12, None, "次", False),
        ("共3千元", 3000, None, "元", False),
    ],
)
def test_parses_quantity(text, value, value_max, unit, approx):
    (q,) = find_quantities(text)
    assert (q.value, q.value_max, q.unit, q.approx) == (value, value_max, unit, approx)
    assert text[q.start:q.end] == q.raw


def test_two_numbers_in_one_clause_are_two_quantities():
    found = find_quantities("进农村204余次14250余人")
    assert [(q.value, q.unit) for q in found] == [(204, "次"), (14250, "人")]


@pytest.mark.parametrize("text", ["2024 年", "2022年2月20日", "一是加强", "（三）", "“12.4”国家宪法日", "image1.wmf"])
def test_dates_and_markers_are_not_quantities(text):
    assert find_quantities(text) == []


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("两", 2), ("十", 10), ("十二", 12), ("二十", 20), ("一百二十", 120), ("三千零五", 3005),
     ("三万五千", 35000), ("二〇二四", 2024), ("一亿", 100_000_000)],
)
def test_chinese_numerals(numeral, value):
    assert parse_chinese(numeral) == value


def test_parse_number_rejects_garbage():
    with pytest.raises(ValueError):
        parse_number("abc")

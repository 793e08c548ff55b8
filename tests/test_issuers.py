"""Issuer level, township and county by the grammar of administrative names (composed names)."""

from __future__ import annotations

import pytest

from llm_extract.label.issuers import (
    county_of,
    issuer_level,
    read_metadata,
    settle,
    township_of,
)
from llm_extract.schemas import ReportMeta


@pytest.mark.parametrize(("issuer", "level", "township", "county"), [
    ("东山县石桥镇人民政府", "township", "石桥镇", "东山县"),
    ("中共东山县石桥镇委员会、东山县石桥镇人民政府", "township", "石桥镇", "东山县"),
    ("南川市北湖区河口街道办事处", "township", "河口街道", "北湖区"),
    ("西岭乡人民政府", "township", "西岭乡", None),
    ("东山县青禾片区管理局", "township", "青禾片区", "东山县"),
    ("东山县司法局", "county_department", None, "东山县"),
    ("南川市北湖区市场监督管理局", "county_department", None, "北湖区"),
    ("东山县人民政府办公室", "county_department", None, "东山县"),
    ("北湖区人民政府", "county_government", None, "北湖区"),
    ("中共东山县委", "county_government", None, "东山县"),
    ("白云旗人民政府", "county_government", None, "白云旗"),
    ("南川市人民政府", "other", None, None),
])
def test_level_township_and_county_follow_from_the_name(issuer, level, township, county):
    assert issuer_level(issuer) == level
    assert (township_of(issuer) if level == "township" else None) == township
    assert county_of(issuer) == county


def test_areas_ending_in_qu_below_a_county_are_not_counties():
    assert county_of("青禾片区管理局") is None
    assert county_of("东山县河湾社区居委会") == "东山县"


def test_code_reads_issuer_title_year_and_signature_date():
    text = ("东山县司法局\n关于2023年度法治政府建设工作情况的报告\n\n2023年，我局坚持……开展普法宣传12次。\n\n"
            "东山县司法局\n2024年1月15日\n")
    meta = read_metadata(text)
    assert (meta.issuer, meta.issuer_level, meta.township, meta.county, meta.year, str(meta.report_date)) == (
        "东山县司法局", "county_department", None, "东山县", 2023, "2024-01-15")


def test_a_title_that_names_a_township_without_an_issuer_line():
    # 发文机关 + year + 事由: with no header line and no signature, the title names the issuer.
    meta = read_metadata("\n石桥镇2022年法治政府建设情况报告\n\n今年，我镇……\n")
    assert (meta.township, meta.issuer, meta.issuer_level, meta.year) == ("石桥镇", "石桥镇", "township", 2022)


@pytest.mark.parametrize(("text", "issuer", "level", "county"), [
    # 发文机关 + 关于 + 事由 + 文种
    ("东山县交通运输局关于2022年法治政府建设工作情况的报告\n\n2022年，我局……\n",
     "东山县交通运输局", "county_department", "东山县"),
    ("东山县人民政府办公室关于二〇二三年度法治建设情况的报告\n\n本办……\n",
     "东山县人民政府办公室", "county_department", "东山县"),
    # 发文机关 + year + 事由
    ("青禾片区2022年法治政府建设工作报告\n\n今年，我片区……\n", "青禾片区", "township", None),
    ("北湖区2023年度法治政府建设情况报告\n\n全区……\n", "北湖区", "county_government", "北湖区"),
    # joint issuers, spaced apart in one title line
    ("中共石桥镇委员会 石桥镇人民政府关于2023年度法治政府建设情况的报告\n\n正文\n",
     "中共石桥镇委员会、石桥镇人民政府", "township", None),
])
def test_the_issuer_in_the_title(text, issuer, level, county):
    meta = read_metadata(text)
    assert (meta.issuer, meta.issuer_level, meta.county) == (issuer, level, county)


def test_a_title_without_an_issuer_names_none():
    assert read_metadata("关于2023年法治政府建设工作的报告\n\n正文……\n").issuer is None
    assert read_metadata("2023年法治政府建设工作报告\n\n正文……\n").issuer is None


def test_without_any_issuer_the_level_is_what_the_report_calls_itself_never_a_default():
    meta = read_metadata("关于2023年法治政府建设工作的报告\n\n2023年，我局认真履职，本局……\n")
    assert meta.issuer_level == "county_department"
    # a township the model reads in the body does not make a bureau's report a township's
    assert settle(meta, ReportMeta(township="石桥镇")).issuer_level == "county_department"
    assert settle(meta, ReportMeta(township="石桥镇")).township is None
    assert read_metadata("关于2023年法治政府建设工作的报告\n\n正文……\n").issuer_level is None


def test_a_department_title_is_not_read_as_a_township():
    meta = read_metadata("东山县住房和城乡建设局2023年法治政府建设年度报告\n\n正文。\n")
    assert meta.township is None


def test_issuer_and_date_come_only_from_header_and_signature_lines():
    said = ReportMeta(issuer="石桥镇人民政府", township="石桥镇")  # named in the body, not a header
    meta = settle(ReportMeta(year=2023), said)
    assert (meta.issuer, meta.township, meta.issuer_level) == (None, "石桥镇", "township")


def test_the_model_fills_only_what_code_did_not_find_and_never_a_township_for_a_department():
    code = ReportMeta(issuer="东山县司法局", year=2023)
    said = ReportMeta(township="东山县司法局", county="东山", year=2022, issuer="别的局")
    meta = settle(code, said)
    assert (meta.issuer, meta.year, meta.township, meta.county, meta.issuer_level) == (
        "东山县司法局", 2023, None, "东山县", "county_department")
    assert settle(ReportMeta(), ReportMeta(township="石桥镇", county="东山县")).issuer_level == "township"

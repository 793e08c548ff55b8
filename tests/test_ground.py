from llm_extract.ground import Alignment, ground, is_grounded

SOURCE = "年内开展安全知识宣传 60 余次，发放宣传册 900 余份。\n今年共排查纠纷６０余起；开展安全知识宣传 60 余次。"


def test_exact_quote_is_found_at_computed_offsets():
    g = ground(SOURCE, "发放宣传册 900 余份")
    assert g is not None and g.alignment is Alignment.EXACT
    assert SOURCE[g.char_start:g.char_end] == g.quote == "发放宣传册 900 余份"


def test_repeated_quote_picks_the_occurrence_nearest_the_hint():
    first = ground(SOURCE, "开展安全知识宣传 60 余次", near=0)
    second = ground(SOURCE, "开展安全知识宣传 60 余次", near=len(SOURCE))
    assert first is not None and second is not None and first.char_start < second.char_start


def test_normalised_match_maps_back_to_original_characters():
    # The model writes half-width digits and drops the spaces; the source has full-width digits.
    g = ground(SOURCE, "共排查纠纷60余起")
    assert g is not None and g.alignment is Alignment.NORMALISED
    assert g.quote == "共排查纠纷６０余起" and SOURCE[g.char_start:g.char_end] == g.quote
    g = ground(SOURCE, "开展安全知识宣传60余次", near=0)
    assert g is not None and g.quote == "开展安全知识宣传 60 余次"


def test_fabricated_quote_is_rejected():
    assert ground(SOURCE, "发放宣传册 9000 余份") is None
    assert ground(SOURCE, "") is None


def test_is_grounded_checks_bounds_and_text():
    assert is_grounded(SOURCE, "年内", 0, 2)
    assert not is_grounded(SOURCE, "年内", 1, 3)
    assert not is_grounded(SOURCE, "年内", -1, 1)

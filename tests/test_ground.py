from llm_extract.propose.ground import fold, is_grounded

SOURCE = "年内开展安全知识宣传 60 余次，发放宣传册 900 余份。\n今年共排查纠纷６０余起。"


def test_is_grounded_checks_bounds_and_text():
    assert is_grounded(SOURCE, "年内", 0, 2)
    assert not is_grounded(SOURCE, "年内", 1, 3)
    assert not is_grounded(SOURCE, "年内", -1, 1)
    assert not is_grounded(SOURCE, "", 0, 0)
    assert not is_grounded(SOURCE, SOURCE[-2:], len(SOURCE) - 2, len(SOURCE) + 1)


def test_fold_is_nfkc_without_whitespace():
    assert fold("共排查纠纷６０余起") == fold("共排查纠纷 60 余起") == "共排查纠纷60余起"
    assert fold("（一）\u3000标题\n") == "(一)标题"
    assert fold("发放宣传册 900 余份") != fold("发放宣传册 9000 余份")

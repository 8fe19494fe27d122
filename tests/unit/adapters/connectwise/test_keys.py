from psasync.adapters.connectwise.keys import mark_description, read_marked_key, strip_mark

KEY = "task:7:line1:recurring"


def test_a_key_is_appended_to_the_internal_description_and_read_back() -> None:
    marked = mark_description("Microsoft 365 E3", KEY)
    assert marked == "Microsoft 365 E3 [psasync task:7:line1:recurring]"
    assert read_marked_key(marked) == KEY


def test_marking_twice_keeps_one_mark() -> None:
    marked = mark_description(mark_description("E3", "task:1:line1:prorate"), KEY)
    assert marked == f"E3 [psasync {KEY}]"


def test_an_empty_description_is_just_the_mark() -> None:
    assert mark_description("  ", KEY) == f"[psasync {KEY}]"


def test_descriptions_without_a_mark_have_no_key() -> None:
    assert read_marked_key("Microsoft 365 E3") is None
    assert read_marked_key(None) is None
    assert read_marked_key("E3 [psasync not-a-key]") is None


def test_the_mark_is_stripped_for_the_domain() -> None:
    assert strip_mark(mark_description("Microsoft 365 E3", KEY)) == "Microsoft 365 E3"
    assert strip_mark(None) == ""


def test_a_reconciliation_fix_key_is_marked_and_read_back() -> None:
    key = "recon:3f2a9c1b7d4e:line2:recurring"
    assert read_marked_key(mark_description("Backup", key)) == key
    assert read_marked_key("Backup [psasync recon:xyz:line2:recurring]") is None

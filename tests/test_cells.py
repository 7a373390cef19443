"""The code version ignores documentation but not behaviour (hand-written source variants)."""

from srbench.core.code_identity import code_fingerprint
from srbench.track.cells import cell_key

BASE = '''
def psnr(a, b):
    """Peak signal-to-noise ratio."""
    return 10 * a / b
'''


def test_docstrings_comments_and_formatting_do_not_count():
    documented = BASE.replace('"""Peak signal-to-noise ratio."""', '"""PSNR in dB, peak 255."""  # a comment')
    reformatted = BASE.replace("10 * a / b", "10*a/b  # same")
    assert code_fingerprint(documented) == code_fingerprint(BASE) == code_fingerprint(reformatted)


def test_a_changed_expression_counts():
    assert code_fingerprint(BASE.replace("10 * a", "20 * a")) != code_fingerprint(BASE)
    # a string that is not a docstring is code
    assert code_fingerprint(BASE + "\nNAME = 'y'\n") != code_fingerprint(BASE + "\nNAME = 'rgb'\n")


def test_cell_key_is_order_independent_and_sensitive():
    assert cell_key(a=1, b={"x": 2, "y": 3}) == cell_key(b={"y": 3, "x": 2}, a=1)
    assert cell_key(a=1, b=2) != cell_key(a=1, b=3)

"""srbench.models.published: every printed value loads, validates and carries its source; the catalogue, the
reports and ``srbench models`` read them from there (one home).

Independent references: a few values re-read by hand from the sources each record names (the CARN table image of
nmhkahn/CARN-pytorch@40d3514f, assets/table.png; the SAFMN table image of sunny2109/SAFMN@68c2182e,
figs/efficient_sr.png; the IMDN table image of Zheng222/IMDN@8f158e6a, images/psnr_ssim.png), and the plausible
ranges of the quantities (PSNR 20-45 dB, SSIM 0.5-1).
"""

from __future__ import annotations

import dataclasses

import pytest

from srbench.core.errors import SrbenchError
from srbench.models import published as pub

# (model, dataset, scale): (psnr, ssim, source, for the released weights), as read in the named source
SPOT_CHECKS = {
    ("carn", "Urban100", 4): (26.07, 0.7837, pub.CARN_TABLE, True),
    ("carn_m", "Set5", 2): (37.53, 0.9583, pub.CARN_TABLE, True),
    ("bicubic", "Manga109", 4): (24.89, 0.7866, pub.SAFMN_TABLE, True),
    ("imdn", "Manga109", 2): (38.88, 0.9774, pub.IMDN_TABLE, True),
    ("imdn", "B100", 4): (27.56, 0.7353, pub.SAFMN_TABLE, True),
    ("safmn", "Urban100", 4): (25.97, 0.7809, pub.SAFMN_TABLE, False),
}


@pytest.mark.parametrize("record", pub.PUBLISHED, ids=lambda r: f"{r.model}-{r.dataset}-x{r.scale}")
def test_every_record_validates(record):
    record.validate()
    assert 20.0 <= record.psnr <= 45.0 and (record.ssim is None or 0.5 <= record.ssim <= 1.0)
    assert record.source.url.startswith("https://github.com/") and record.source.table and record.source.paper
    assert isinstance(record.for_released_weights, bool) and isinstance(record.reprint, bool)
    assert not record.secondary  # every value here was read in a primary source


def test_the_set_is_consistent():
    pub.validate_all()
    # values shrink with the scale and bicubic is below every network, per (dataset, scale)
    for r in pub.PUBLISHED:
        bicubic = pub.lookup("bicubic", r.dataset, r.scale)
        if r.model != "bicubic" and bicubic is not None:
            assert r.psnr > bicubic.psnr, r
        larger = pub.published(r.model, dataset=r.dataset, scale=r.scale + 1)
        assert all(x.psnr < r.psnr for x in larger if x.variant == r.variant or x.source == r.source), r


@pytest.mark.parametrize("key", sorted(SPOT_CHECKS))
def test_values_as_read_in_their_sources(key):
    psnr, ssim, source, exact = SPOT_CHECKS[key]
    record = pub.lookup(*key)
    assert (record.psnr, record.ssim, record.source, record.for_released_weights) == (psnr, ssim, source, exact)


@pytest.mark.parametrize("change, message", [
    ({"psnr": 48.1}, "outside 20-45"), ({"ssim": 0.3}, "outside 0.5-1"), ({"dataset": "Set6"}, "unknown dataset"),
    ({"source": pub.Source("", "t", "https://x", "r")}, "needs its paper"), ({"secondary": True}, "secondary"),
])
def test_validation_refuses_bad_records(change, message):
    bad = dataclasses.replace(pub.PUBLISHED[0], **change)
    with pytest.raises(SrbenchError, match=message):
        bad.validate()


def test_lookup_prefers_the_released_weights_and_the_models_own_paper():
    # IMDN x2 Set5 is in its own paper (the IMDN table); x4 only as the SAFMN table reprints it
    assert pub.lookup("imdn", "Set5", 2).source == pub.IMDN_TABLE and not pub.lookup("imdn", "Set5", 2).reprint
    assert pub.lookup("imdn", "Set5", 4).reprint
    assert pub.lookup("rlfn", "Set5", 4) is None and "rlfn" in pub.NOT_FOUND  # looked for, not found: absent
    assert pub.lookup("carn", "Manga109", 4) is None  # neither table prints it


def test_catalogue_and_reports_read_the_records():
    from srbench.models.weights import CATALOGUE
    from srbench.report import reference as ref

    assert CATALOGUE["carn"].metrics["Urban100"][4] == (26.07, 0.7837)
    assert CATALOGUE["imdn_x3"].metrics["Set5"] == {3: (34.36, 0.9270)}
    assert ref.CARN_M.scores[("Set14", 3)] == (30.08, 0.8367)
    assert ref.BICUBIC.scores[("B100", 2)] == (29.56, 0.8431) and ("Manga109", 2) not in ref.BICUBIC.scores
    for p in (ref.BICUBIC, ref.CARN, ref.CARN_M):
        assert len(p.scores) == 12 and all(v == (pub.lookup(p.model, d, s).psnr, pub.lookup(p.model, d, s).ssim)
                                           for (d, s), v in p.scores.items())


def test_models_command_lists_published_values():
    from srbench.commands.models import _published, _published_cell

    rows = _published("safmn")
    assert len(rows) == 15 and all(not r["for_released_weights"] for r in rows)
    assert "sunny2109/SAFMN" in rows[0]["source"]
    assert _published_cell(rows) == "15 values (15 for another variant)" and _published_cell([]) == "-"

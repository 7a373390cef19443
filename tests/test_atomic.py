"""core.atomic: the destination holds the old bytes or the whole new ones; a failed write leaves nothing behind."""

from __future__ import annotations

import pytest

from srbench.core.atomic import atomic_path, write_bytes_atomic, write_text_atomic


def test_a_completed_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "out.bin"
    write_bytes_atomic(target, b"old")
    write_bytes_atomic(target, b"new bytes", fsync=True)
    assert target.read_bytes() == b"new bytes"
    assert [p.name for p in target.parent.iterdir()] == ["out.bin"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_partial_one(tmp_path):
    target = tmp_path / "out.txt"
    write_text_atomic(target, "complete")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("parti")
        assert not target.read_text() == "parti"  # the reader still sees the old file mid-write
        raise RuntimeError("interrupted")
    assert target.read_text() == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_the_written_file_has_the_mode_a_plain_open_gives(tmp_path, umask, mode):
    """Like ``open(path, 'w')``: 0o666 less the umask (a shared store stays readable), not mkstemp's 0o600."""
    import os
    import stat

    old = os.umask(umask)
    try:
        write_bytes_atomic(tmp_path / "a.bin", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == mode

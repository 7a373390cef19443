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

"""Label placement for the bubble chart, deterministically and without overlaps: candidate boxes around each
bubble, a cost per box (overlaps with other labels and fixed texts are forbidden, covering a bubble or crossing
leader lines is penalised, near right-hand positions are preferred), then greedy placement and repeated
best-response moves until no label moves. Everything is in display pixels, measured with the renderer's own text
extents; nothing here draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class _Candidate:
    box: tuple[float, float, float, float]     # x0, y0, x1, y1 in display pixels
    offset: tuple[float, float]                # from the bubble centre, in points
    ha: str
    va: str
    anchor: tuple[float, float]                # the box point facing the bubble (start of the leader line)
    leader: bool
    preference: float


def _box_point_distance(box, x: float, y: float) -> float:
    dx = max(box[0] - x, 0.0, x - box[2])
    dy = max(box[1] - y, 0.0, y - box[3])
    return math.hypot(dx, dy)


def _overlap_area(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _segment_hits_box(p, q, box) -> bool:
    """Whether the segment p-q passes through the rectangle (Liang-Barsky clipping)."""
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for d, lo, hi, start in ((dx, box[0], box[2], p[0]), (dy, box[1], box[3], p[1])):
        if abs(d) < 1e-12:
            if start < lo or start > hi:
                return False
            continue
        a, b = (lo - start) / d, (hi - start) / d
        if a > b:
            a, b = b, a
        t0, t1 = max(t0, a), min(t1, b)
        if t0 > t1:
            return False
    return True


def _segments_cross(p1, p2, q1, q2) -> bool:
    def orient(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


# Directions tried around a bubble (degrees, in order of preference: right, left, the diagonals, above, below ...).
_NEAR_DIRECTIONS = (0, 180, 35, -35, 145, -145, 90, -90, 62, -62, 118, -118)
_FAR_DIRECTIONS = _NEAR_DIRECTIONS + (15, -15, 165, -165, 50, -50, 130, -130, 78, -78, 102, -102)
# Where the box may slide along the side it touches: the fraction of the box on the far side of the anchor.
_SLIDES = (0.5, 0.8, 0.2, 0.95, 0.05)


def _side(u: float, anchor: float, size: float, slide: float, after: str, before: str) -> tuple[float, str]:
    """Along one axis, where a label box of ``size`` starts for a direction component ``u`` from its bubble, and its
    text alignment: after the anchor (``u`` > 0.3), before it (``u`` < -0.3), or sliding across it."""
    if u > 0.3:
        return anchor, after
    if u < -0.3:
        return anchor - size, before
    return anchor - size * slide, ("center" if slide == 0.5 else after)


def _candidates(i: int, centres, radii, size, px_per_pt: float, rings: int = 14) -> list[_Candidate]:
    """Label positions around bubble ``i``: next to it (no leader line) when the label is then nearer to it than to
    any other bubble, and on rings further out (joined to it by a leader line). A box straight above, below, left
    or right of the bubble may also slide along that side."""
    cx, cy = centres[i]
    r = radii[i]
    w, h = size
    gap = 2.5 * px_per_pt
    step = max(h, 9 * px_per_pt)
    out = []
    for k in range(rings):
        dist = r + gap + k * step
        rank = 0
        for deg in _NEAR_DIRECTIONS if k < 3 else _FAR_DIRECTIONS:
            ux, uy = math.cos(math.radians(deg)), math.sin(math.radians(deg))
            ax_, ay_ = cx + dist * ux, cy + dist * uy
            side = deg in (0, 180, 90, -90)
            for slide in _SLIDES if side else (0.5,):
                x0, ha = _side(ux, ax_, w, slide, "left", "right")
                y0, va = _side(uy, ay_, h, slide, "bottom", "top")
                box = (x0, y0, x0 + w, y0 + h)
                rank += 1
                leader = k > 0
                if not leader:   # next to its bubble: it must then be clearly nearer to it than to any other
                    own = _box_point_distance(box, cx, cy) - r
                    others = [_box_point_distance(box, *centres[j]) - radii[j] for j in range(len(centres))
                              if j != i]
                    if others and min(others) <= own + 2 * px_per_pt:
                        continue
                # the text is anchored at (x, y) with alignment (ha, va); offset from the bubble centre in points
                tx = {"left": x0, "center": x0 + w / 2, "right": x0 + w}[ha]
                ty = {"bottom": y0, "center": y0 + h / 2, "top": y0 + h}[va]
                out.append(_Candidate(box=box, offset=((tx - cx) / px_per_pt, (ty - cy) / px_per_pt), ha=ha,
                                      va=va, anchor=(ax_, ay_), leader=leader, preference=k * 25.0 + rank))
    return out


class _Placer:
    """The costs of the candidate boxes of every label (see :func:`place_labels`)."""

    def __init__(self, centres, radii, area, obstacles, px_per_pt: float) -> None:
        self.centres, self.radii, self.obstacles = centres, radii, obstacles
        self.pad = 1.5 * px_per_pt
        self.inner = (area[0] + self.pad, area[1] + self.pad, area[2] - self.pad, area[3] - self.pad)

    def padded(self, b):
        return (b[0] - self.pad, b[1] - self.pad, b[2] + self.pad, b[3] + self.pad)

    def fixed_cost(self, i: int, c: _Candidate) -> float:
        """The part of a box's cost that does not depend on the other labels."""
        box, centres, radii = c.box, self.centres, self.radii
        total = c.preference + (40.0 if c.leader else 0.0)
        outside = (box[2] - box[0]) * (box[3] - box[1]) - _overlap_area(box, self.inner)
        if outside > 0.5:
            total += 1e6 + outside
        for ob in self.obstacles:
            ov = _overlap_area(self.padded(box), ob)
            if ov > 0:
                total += 1e6 + ov
        for j in range(len(centres)):
            if j == i:
                continue
            depth = radii[j] + self.pad - _box_point_distance(box, *centres[j])
            if depth > 0:   # the label covers part of another bubble
                total += 2e3 + 50.0 * depth
            if c.leader and math.hypot(centres[j][0] - centres[i][0], centres[j][1] - centres[i][1]) > 1.0 \
                    and _segment_circle(c.anchor, centres[i], centres[j], 0.7 * radii[j]):
                total += 300.0   # the leader line runs across another bubble
        return total

    def label_cost(self, i: int, c: _Candidate, chosen: dict[int, _Candidate]) -> float:
        """The part that depends on the other labels' current boxes and leader lines (never negative)."""
        box, total, centres = c.box, 0.0, self.centres
        for j, other in chosen.items():
            if j == i:
                continue
            ov = _overlap_area(self.padded(box), other.box)
            if ov > 0:
                total += 1e6 + ov
            if c.leader and _segment_hits_box(c.anchor, centres[i], other.box):
                total += 3e4
            if other.leader and _segment_hits_box(other.anchor, centres[j], box):
                total += 3e4
            if c.leader and other.leader and _segments_cross(c.anchor, centres[i], other.anchor, centres[j]):
                total += 2e3
        return total


def _best(placer: _Placer, ranked: list, i: int, chosen: dict[int, _Candidate]) -> tuple[float, _Candidate]:
    """Label ``i``'s cheapest box given the others' (``ranked[i]`` is sorted by fixed cost, so the search stops at
    the first candidate whose fixed cost alone exceeds the best total found)."""
    top, pick = math.inf, None
    for fixed, _, c in ranked[i]:
        if fixed >= top:
            break
        total = fixed + placer.label_cost(i, c, chosen)
        if total < top:
            top, pick = total, c
    return top, pick


def place_labels(centres, radii, sizes, area, obstacles=(), px_per_pt: float = 1.0) -> list[_Candidate]:
    """Choose a position for each bubble's label (display pixels), deterministically.

    Each label gets candidate boxes around its bubble (:func:`_candidates`); the cost of a box adds a huge penalty
    for overlapping another label or an obstacle (fixed texts) or leaving ``area`` (the axes), a smaller one for
    covering another bubble or for a leader line through a label or across another leader, and a preference for
    near, right-hand positions. Labels are placed greedily (the most crowded bubbles first), then each label in
    turn is moved to its best box given all the others, until no label moves: an iterative repulsion in display
    coordinates measured with the renderer's own text extents."""
    n = len(centres)
    placer = _Placer(centres, radii, area, obstacles, px_per_pt)
    # candidates sorted by their fixed cost (stable: ties keep the order of preference)
    ranked = []
    for i in range(n):
        cands = _candidates(i, centres, radii, sizes[i], px_per_pt)
        ranked.append(sorted(((placer.fixed_cost(i, c), k, c) for k, c in enumerate(cands)),
                             key=lambda t: (t[0], t[1])))
    crowd = [sum(math.hypot(centres[j][0] - centres[i][0], centres[j][1] - centres[i][1]) < 60 * px_per_pt
                 for j in range(n)) for i in range(n)]
    order = sorted(range(n), key=lambda i: (-crowd[i], i))
    chosen: dict[int, _Candidate] = {}
    for i in order:
        chosen[i] = _best(placer, ranked, i, chosen)[1]
    for _ in range(25):
        moved = False
        for i in order:
            now = next(f for f, _, c in ranked[i] if c is chosen[i]) + placer.label_cost(i, chosen[i], chosen)
            value, pick = _best(placer, ranked, i, chosen)
            if pick is not chosen[i] and value < now - 1e-9:
                chosen[i] = pick
                moved = True
        if not moved:
            break
    return [chosen[i] for i in range(n)]


def _segment_circle(p, q, c, r) -> bool:
    """Whether the segment p-q passes within ``r`` of ``c``."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    L2 = dx * dx + dy * dy
    t = 0.0 if L2 == 0 else max(0.0, min(1.0, ((c[0] - p[0]) * dx + (c[1] - p[1]) * dy) / L2))
    return math.hypot(p[0] + t * dx - c[0], p[1] + t * dy - c[1]) < r

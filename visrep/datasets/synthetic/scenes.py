"""Procedural street and indoor scenes for the semantic-segmentation sets.

A scene is painted layer by layer; each layer is a *concept* (sky, road,
car, ...) with its own colour and texture, so a segmentor can learn it.  The
painter returns the image and a map of concept indices; ADE20K and
Cityscapes map concepts to their own label ids.
"""
from typing import Callable, Dict, List, Tuple

import cv2
import numpy as np

from .canvas import Color, jitter, polygon_mask, shape_polygon, stripes, texture

Appearance = Callable[[np.random.Generator, int, int], np.ndarray]


def _smooth(color: Color, amplitude: float = 12.0) -> Appearance:
    return lambda rng, h, w: texture(rng, h, w, jitter(rng, color, 12),
                                     amplitude=amplitude)


def _rough(color: Color) -> Appearance:
    return lambda rng, h, w: texture(rng, h, w, jitter(rng, color, 12),
                                     amplitude=45.0, grain=14.0, cells=24)


def _striped(color: Color, period: int, vertical: bool) -> Appearance:
    return lambda rng, h, w: stripes(rng, h, w, jitter(rng, color, 12),
                                     period=period, vertical=vertical)


#: concept -> appearance (BGR colours)
CONCEPTS: Dict[str, Appearance] = {
    'sky': _smooth((235, 200, 140), 8.0),
    'building': _striped((90, 100, 120), 10, vertical=True),
    'road': _smooth((70, 70, 70), 6.0),
    'sidewalk': _striped((170, 170, 175), 12, vertical=False),
    'vegetation': _rough((50, 140, 50)),
    'person': _smooth((110, 40, 150), 10.0),
    'car': _smooth((40, 40, 200), 10.0),
    'pole': _smooth((20, 20, 20), 4.0),
    'wall': _striped((160, 200, 225), 16, vertical=False),
    'floor': _striped((60, 100, 150), 6, vertical=False),
    'ceiling': _smooth((245, 245, 245), 5.0),
    'other': lambda rng, h, w: texture(rng, h, w, tuple(
        int(v) for v in rng.integers(0, 256, 3)), amplitude=20.0),
}
CONCEPT_NAMES: List[str] = list(CONCEPTS)


class ScenePainter:
    """Paints concept layers; later layers cover earlier ones."""

    def __init__(self, rng: np.random.Generator, height: int, width: int):
        self.rng = rng
        self.height, self.width = height, width
        self.image = np.zeros((height, width, 3), np.uint8)
        self.concepts = np.zeros((height, width), np.uint8)

    def paint(self, concept: str, mask: np.ndarray) -> None:
        patch = CONCEPTS[concept](self.rng, self.height, self.width)
        self.image[mask] = patch[mask]
        self.concepts[mask] = CONCEPT_NAMES.index(concept)

    def rows(self, top: int, bottom: int) -> np.ndarray:
        mask = np.zeros((self.height, self.width), bool)
        mask[max(0, top):max(0, bottom)] = True
        return mask

    def box(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        mask = np.zeros((self.height, self.width), bool)
        mask[int(max(0, y0)):int(max(0, y1)), int(max(0, x0)):int(max(0, x1))] = True
        return mask

    def polygon(self, poly: np.ndarray) -> np.ndarray:
        return polygon_mask(poly, self.height, self.width)

    def add_clutter(self, max_items: int = 2) -> None:
        """Small unlabelled ('other') objects anywhere."""
        for _ in range(int(self.rng.integers(0, max_items + 1))):
            r = self.rng.uniform(6, 14)
            centre = (self.rng.uniform(r, self.width - r),
                      self.rng.uniform(r, self.height - r))
            shape = str(self.rng.choice(['square', 'triangle', 'star']))
            self.paint('other', self.polygon(
                shape_polygon(shape, centre, r, self.rng.uniform(0, 3))))


def street_scene(rng: np.random.Generator, height: int,
                 width: int) -> Tuple[np.ndarray, np.ndarray]:
    """Sky, buildings, trees, road, sidewalks, cars, people, poles."""
    p = ScenePainter(rng, height, width)
    horizon = int(height * rng.uniform(0.38, 0.5))
    p.paint('sky', p.rows(0, horizon))
    x = 0.0
    while x < width:  # a row of buildings standing on the horizon
        w = rng.uniform(0.12, 0.3) * width
        if rng.random() < 0.8:
            top = horizon - rng.uniform(0.15, 0.35) * height
            p.paint('building', p.box(x, top, x + w, horizon))
        x += w
    for _ in range(int(rng.integers(1, 4))):  # tree crowns at the horizon
        r = rng.uniform(0.06, 0.12) * height
        centre = (rng.uniform(0, width), horizon - r * rng.uniform(0.2, 0.8))
        p.paint('vegetation', p.polygon(shape_polygon('circle', centre, r)))
    p.paint('road', p.rows(horizon, height))
    walk = rng.uniform(0.18, 0.3) * width  # sidewalks narrowing to the horizon
    for side in (0, width):
        inner = walk if side == 0 else width - walk
        far = side + (0.35 * (inner - side))
        p.paint('sidewalk', p.polygon(np.array(
            [[side, horizon], [far, horizon], [inner, height], [side, height]])))
    for _ in range(int(rng.integers(1, 3))):  # cars on the road
        cw = rng.uniform(0.12, 0.2) * width
        ch = cw * rng.uniform(0.45, 0.6)
        cx = rng.uniform(walk, width - walk - cw)
        cy = rng.uniform(horizon + 0.1 * height, height - ch)
        p.paint('car', p.box(cx, cy, cx + cw, cy + ch))
    for _ in range(int(rng.integers(1, 3))):  # people on a sidewalk
        ph = rng.uniform(0.15, 0.25) * height
        px = rng.uniform(0, walk * 0.7) if rng.random() < 0.5 else \
            rng.uniform(width - walk * 0.7, width - 0.05 * width)
        py = rng.uniform(horizon, height - ph)
        p.paint('person', p.polygon(shape_polygon(
            'bar', (px, py + ph / 2), ph / 2)))
    for _ in range(int(rng.integers(0, 3))):  # poles
        px = rng.uniform(0, width)
        p.paint('pole', p.box(px, horizon - 0.25 * height, px + 3,
                              horizon + 0.2 * height))
    p.add_clutter()
    return p.image, p.concepts


def indoor_scene(rng: np.random.Generator, height: int,
                 width: int) -> Tuple[np.ndarray, np.ndarray]:
    """Ceiling, walls, floor, a person, clutter."""
    p = ScenePainter(rng, height, width)
    ceiling = int(height * rng.uniform(0.1, 0.25))
    floor = int(height * rng.uniform(0.6, 0.75))
    p.paint('ceiling', p.rows(0, ceiling))
    p.paint('wall', p.rows(ceiling, floor))
    p.paint('floor', p.rows(floor, height))
    if rng.random() < 0.7:
        ph = rng.uniform(0.3, 0.45) * height
        px = rng.uniform(0.1, 0.9) * width
        p.paint('person', p.polygon(shape_polygon(
            'bar', (px, floor - ph / 2 + 0.05 * height), ph / 2)))
    p.add_clutter(3)
    return p.image, p.concepts


def relabel(concepts: np.ndarray, mapping: Dict[str, int],
            default: int) -> np.ndarray:
    """Concept map -> label map of a dataset (``default`` for unmapped)."""
    lut = np.full(256, default, np.uint8)
    for name, value in mapping.items():
        lut[CONCEPT_NAMES.index(name)] = value
    return lut[concepts]


def write_png(path: str, array: np.ndarray) -> None:
    if not cv2.imwrite(path, array):
        raise OSError(f'could not write {path}')

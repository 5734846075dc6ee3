"""Drawing primitives for the procedurally drawn small datasets.

Shapes are polygons (float vertex arrays, x then y) so that the same geometry
gives the pixels, the COCO polygon masks and the boxes.  Textures are
low-frequency colour noise plus grain, so that images look like photographs
more than flat cartoons and a model has to learn colour *and* shape.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

Color = Tuple[int, int, int]  # BGR, as cv2 writes

#: Well separated colours (BGR) used as class colours.
PALETTE: Dict[str, Color] = {
    'red': (40, 40, 220),
    'green': (60, 190, 60),
    'blue': (210, 90, 30),
    'yellow': (40, 220, 230),
    'magenta': (200, 60, 200),
    'cyan': (220, 210, 60),
    'orange': (30, 140, 250),
    'purple': (150, 40, 110),
    'brown': (40, 80, 140),
    'white': (235, 235, 235),
    'gray': (128, 128, 128),
    'black': (25, 25, 25),
}


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def regular_polygon(n: int) -> np.ndarray:
    """Unit-radius regular n-gon around the origin."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False) - np.pi / 2
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def star(points: int = 5, inner: float = 0.45) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 2 * points, endpoint=False) - np.pi / 2
    r = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def cross(width: float = 0.35) -> np.ndarray:
    w = width
    return np.array([[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w],
                     [w, 1], [-w, 1], [-w, w], [-1, w], [-1, -w], [-w, -w]])


def arrow() -> np.ndarray:
    return np.array([[-1, -0.3], [0.2, -0.3], [0.2, -0.8], [1, 0], [0.2, 0.8],
                     [0.2, 0.3], [-1, 0.3]])


def l_shape() -> np.ndarray:
    return np.array([[-0.8, -1], [-0.2, -1], [-0.2, 0.4], [0.8, 0.4],
                     [0.8, 1], [-0.8, 1]])


#: shape name -> unit polygon factory
SHAPES: Dict[str, Callable[[], np.ndarray]] = {
    'circle': lambda: regular_polygon(32),
    'triangle': lambda: regular_polygon(3),
    'square': lambda: regular_polygon(4),
    'hexagon': lambda: regular_polygon(6),
    'octagon': lambda: regular_polygon(8),
    'star': star,
    'cross': cross,
    'diamond': lambda: regular_polygon(4) * np.array([0.6, 1.0]),
    'arrow': arrow,
    'l_shape': l_shape,
    'bar': lambda: np.array([[-0.25, -1], [0.25, -1], [0.25, 1], [-0.25, 1]]),
    'rectangle': lambda: np.array([[-1, -0.6], [1, -0.6], [1, 0.6], [-1, 0.6]]),
}


def shape_polygon(name: str, center: Sequence[float], radius: float,
                  angle: float = 0.0) -> np.ndarray:
    """Vertices (k, 2) of shape ``name`` scaled to ``radius`` and rotated."""
    unit = SHAPES[name]().astype(np.float64)
    return _rotate(unit, angle) * radius + np.asarray(center, np.float64)


def jitter(rng: np.random.Generator, color: Color, amount: int = 20) -> Color:
    c = np.asarray(color) + rng.integers(-amount, amount + 1, size=3)
    return tuple(int(v) for v in np.clip(c, 0, 255))


def texture(rng: np.random.Generator, height: int, width: int, color: Color,
            amplitude: float = 25.0, grain: float = 6.0,
            cells: int = 6) -> np.ndarray:
    """``color`` modulated by smooth noise (``cells`` per side) and grain."""
    low = rng.normal(0, amplitude, size=(cells, cells, 3)).astype(np.float32)
    low = cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)
    img = np.asarray(color, np.float32) + low
    img += rng.normal(0, grain, size=(height, width, 3)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def stripes(rng: np.random.Generator, height: int, width: int, color: Color,
            period: int = 8, contrast: float = 40.0,
            vertical: bool = False) -> np.ndarray:
    """A texture with regular stripes, to tell classes apart by pattern."""
    img = texture(rng, height, width, color, amplitude=10.0)
    axis = np.arange(width if vertical else height)
    wave = np.where((axis // max(1, period // 2)) % 2 == 0, contrast / 2,
                    -contrast / 2).astype(np.float32)
    wave = wave[None, :, None] if vertical else wave[:, None, None]
    return np.clip(img.astype(np.float32) + wave, 0, 255).astype(np.uint8)


def polygon_mask(poly: np.ndarray, height: int, width: int) -> np.ndarray:
    """Boolean mask of a polygon, rasterised like :func:`paint_polygon`."""
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    return mask.astype(bool)


def paint(img: np.ndarray, mask: np.ndarray, patch: np.ndarray) -> None:
    """Copy ``patch`` (same size as ``img``) into ``img`` where ``mask``."""
    img[mask] = patch[mask]


def paint_polygon(rng: np.random.Generator, img: np.ndarray, poly: np.ndarray,
                  color: Color, shading: float = 18.0) -> np.ndarray:
    """Fill ``poly`` with a lightly textured ``color``; returns its mask."""
    h, w = img.shape[:2]
    mask = polygon_mask(poly, h, w)
    paint(img, mask, texture(rng, h, w, color, amplitude=shading, cells=3))
    return mask


def place_boxes(rng: np.random.Generator, radii: Sequence[float], width: int,
                height: int, margin: float = 4.0,
                tries: int = 200) -> Optional[List[Tuple[float, float]]]:
    """Centres for discs of ``radii`` inside the image that do not overlap."""
    centres: List[Tuple[float, float]] = []
    for r in radii:
        for _ in range(tries):
            x = rng.uniform(r + margin, width - r - margin)
            y = rng.uniform(r + margin, height - r - margin)
            if all((x - cx)**2 + (y - cy)**2 > (r + cr + margin)**2
                   for (cx, cy), cr in zip(centres, radii)):
                centres.append((x, y))
                break
        else:
            return None
    return centres


def polygon_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))

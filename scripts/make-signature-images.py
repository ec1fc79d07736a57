#!/usr/bin/env python3
"""Generate the synthetic signature and seal images in samples/ (Decree 30/2020 Appendix I):

  samples/chu-ky.png   the competent person's signature: blue strokes, transparent background
  samples/con-dau.png  the organization's seal: red, round, transparent background, drawn at
                       300 dpi for a 36 mm seal (425 px)

Invented marks for tests and demos (CC0); never a real signature or seal.
Run with Pillow available, e.g. the peers venv: .venv/bin/python scripts/make-signature-images.py
"""
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "samples"
BLUE = (20, 40, 170, 255)
RED = (210, 20, 30, 255)


def font(size: int) -> ImageFont.FreeTypeFont:
    for path in [
        "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    ]:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def signature() -> None:
    rng = random.Random(30)
    img = Image.new("RGBA", (600, 240), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    points = []
    for i in range(160):
        t = i / 159
        x = 40 + 500 * t
        y = 130 + 55 * math.sin(t * 14) * (1 - t * 0.6) + rng.uniform(-4, 4)
        points.append((x, y))
    draw.line(points, fill=BLUE, width=7, joint="curve")
    draw.line([(90, 190), (520, 160)], fill=BLUE, width=5)
    img.save(OUT / "chu-ky.png", optimize=True)


def seal() -> None:
    size = 425  # 36 mm at 300 dpi
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    c = size / 2
    draw.ellipse([6, 6, size - 6, size - 6], outline=RED, width=12)
    draw.ellipse([70, 70, size - 70, size - 70], outline=RED, width=5)
    text = "UBND XÃ TÂN PHÚ (TEST ONLY) * "
    f = font(30)
    for i, ch in enumerate(text):
        angle = -math.pi / 2 + 2 * math.pi * i / len(text)
        x = c + (c - 42) * math.cos(angle)
        y = c + (c - 42) * math.sin(angle)
        glyph = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((20, 20), ch, font=f, fill=RED, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.BICUBIC)
        img.alpha_composite(glyph, (int(x - 20), int(y - 20)))
    draw.regular_polygon((c, c, 40), 5, rotation=90, fill=RED)
    img.save(OUT / "con-dau.png", optimize=True)


if __name__ == "__main__":
    signature()
    seal()
    print("wrote samples/chu-ky.png and samples/con-dau.png")

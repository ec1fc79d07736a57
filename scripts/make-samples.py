#!/usr/bin/env python3
"""Generate the synthetic sample inputs in samples/ for hoso.

Outputs (all content is invented; no real person or agency data):

  samples/scan-quyet-dinh.png     simulated 300-DPI A4 scan (2480x3508, 1-bit, pHYs 300x300)
                                  of a commune decision ("QUYẾT ĐỊNH") in Decree 30/2020 layout
  samples/scan-quyet-dinh.gt.txt  exact ground-truth text of that scan (NFC, one printed line
                                  per line; two-column blocks: left column first, then right)
  samples/cong-van.pdf            born-digital 1-page A4 official letter ("CÔNG VĂN") with an
                                  embedded, subset TrueType font: the "PDF to sign" sample

Regenerate (from the repository root; needs Python 3 and three PyPI packages):

  python3 -m venv /tmp/samples-venv
  /tmp/samples-venv/bin/pip install pillow reportlab fonttools
  /tmp/samples-venv/bin/python scripts/make-samples.py            # writes samples/
  /tmp/samples-venv/bin/python scripts/make-samples.py --check    # also runs tesseract/pdftotext

Options: --out DIR writes elsewhere; --check afterwards OCRs the scan with `tesseract -l vie`
and extracts the PDF text with `pdftotext` (both optional tools) and prints keyword hits and
an approximate character error rate.

Fonts: a serif TTF with full Vietnamese coverage is looked up under /usr/share/fonts,
/usr/local/share/fonts and ~/.fonts. The scan uses Noto Serif (else DejaVu Serif); the PDF
uses Liberation Serif if present (metric-compatible with Times New Roman, the Decree 30 font),
else Noto Serif, else DejaVu Serif. The script prints which files it used.

Determinism: all randomness comes from a fixed seed and the PDF is written in reportlab's
"invariant" mode (fixed dates and document ID), so reruns on the same machine give the same
bytes. Other versions of Pillow/FreeType/zlib/reportlab, or other fonts, may change bytes
(never the text).

Licence: the generated files are synthetic test data, dedicated to the public domain (CC0);
this script is under the project's licence (MIT OR Apache-2.0).
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageStat

SEED = 20260120
SKEW_DEG = 1.5  # counter-clockwise page skew of the simulated scan
NOISE_SIGMA = 12  # grey levels of sensor noise before thresholding
THRESHOLD = 135  # 1-bit threshold (ink 20, paper 236)

# --------------------------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------------------------

FONT_DIRS = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts"]

# family -> style -> candidate file names
FAMILIES = {
    "Liberation Serif": {
        "regular": "LiberationSerif-Regular.ttf",
        "bold": "LiberationSerif-Bold.ttf",
        "italic": "LiberationSerif-Italic.ttf",
        "bolditalic": "LiberationSerif-BoldItalic.ttf",
    },
    "Noto Serif": {
        "regular": "NotoSerif-Regular.ttf",
        "bold": "NotoSerif-Bold.ttf",
        "italic": "NotoSerif-Italic.ttf",
        "bolditalic": "NotoSerif-BoldItalic.ttf",
    },
    "DejaVu Serif": {
        "regular": "DejaVuSerif.ttf",
        "bold": "DejaVuSerif-Bold.ttf",
        "italic": "DejaVuSerif-Italic.ttf",
        "bolditalic": "DejaVuSerif-BoldItalic.ttf",
    },
}


def _find_file(name: str) -> Path | None:
    for root in FONT_DIRS:
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in sorted(os.walk(root)):
            if name in files:
                return Path(dirpath) / name
    return None


def find_family(preference: list[str]) -> tuple[str, dict[str, Path]]:
    """First family in `preference` whose four styles are all installed."""
    for family in preference:
        paths = {style: _find_file(fname) for style, fname in FAMILIES[family].items()}
        if all(paths.values()):
            return family, paths  # type: ignore[return-value]
    sys.exit(f"make-samples: none of {preference} is installed (apt install fonts-noto-core)")


# --------------------------------------------------------------------------------------------
# Shared document content (invented; the names are fictitious)
# --------------------------------------------------------------------------------------------

AGENCY_PARENT = "UỶ BAN NHÂN DÂN"
AGENCY = "XÃ TÂN PHÚ"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
SIGNER_NAME = "Nguyễn Văn An"
APPLICANT = "Trần Thị Mẫu"

# Paragraph = list of (text, style) runs; style in regular/bold/italic/bolditalic.
QD_BASIS = [
    [("Căn cứ Luật Tổ chức chính quyền địa phương ngày 16 tháng 6 năm 2025;", "italic")],
    [("Căn cứ Luật Xây dựng ngày 18 tháng 6 năm 2014; Luật sửa đổi, bổ sung một số điều "
      "của Luật Xây dựng ngày 17 tháng 6 năm 2020;", "italic")],
    [("Căn cứ Nghị định số 175/2024/NĐ-CP ngày 30 tháng 12 năm 2024 của Chính phủ quy định "
      "chi tiết một số điều và biện pháp thi hành Luật Xây dựng về quản lý hoạt động xây dựng;",
      "italic")],
    [(f"Xét đơn đề nghị cấp giấy phép xây dựng của bà {APPLICANT} ngày 05 tháng 01 năm 2026 "
      "và đề nghị của Trưởng phòng Kinh tế xã Tân Phú.", "italic")],
]

QD_ARTICLES = [
    [("Điều 1.", "bold"),
     (f" Cấp giấy phép xây dựng nhà ở riêng lẻ cho bà {APPLICANT}, địa chỉ: ấp Phú Hòa, "
      "xã Tân Phú, được xây dựng công trình tại thửa đất số 123, tờ bản đồ số 45 với các "
      "nội dung sau:", "regular")],
    [("- Loại công trình: nhà ở riêng lẻ, cấp III;", "regular")],
    [("- Diện tích xây dựng tầng 1: 80 mét vuông; tổng diện tích sàn: 160 mét vuông;",
      "regular")],
    [("- Chiều cao công trình: 7,8 mét; số tầng: 02;", "regular")],
    [("- Thời hạn khởi công: không quá 12 tháng kể từ ngày được cấp giấy phép.", "regular")],
    [("Điều 2.", "bold"),
     (f" Bà {APPLICANT} có trách nhiệm thực hiện đúng nội dung giấy phép được cấp, thông "
      "báo ngày khởi công cho Ủy ban nhân dân xã trước khi khởi công và tuân thủ các quy "
      "định của pháp luật về xây dựng.", "regular")],
    [("Điều 3.", "bold"),
     (f" Chánh Văn phòng Hội đồng nhân dân và Ủy ban nhân dân xã, Trưởng phòng Kinh tế, "
      f"bà {APPLICANT} và các tổ chức, cá nhân có liên quan chịu trách nhiệm thi hành Quyết "
      "định này./.", "regular")],
]

# --------------------------------------------------------------------------------------------
# 1. The scanned decision (Pillow)
# --------------------------------------------------------------------------------------------

DPI = 300
PAGE_W, PAGE_H = 2480, 3508  # A4 at 300 DPI


def mm(v: float) -> int:
    return round(v * DPI / 25.4)


def pt(v: float) -> int:
    return round(v * DPI / 72)


class Page:
    """A tiny layout engine that draws text and records every printed line."""

    def __init__(self, fonts: dict[str, Path]):
        self.img = Image.new("L", (PAGE_W, PAGE_H), 255)
        self.draw = ImageDraw.Draw(self.img)
        self.font_paths = fonts
        self._cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}
        self.left, self.right = mm(30), PAGE_W - mm(15)
        self.top, self.bottom = mm(20), PAGE_H - mm(20)
        self.ink = 20
        self.lines: list[str] = []  # printed lines, in ground-truth order

    def font(self, style: str, size: int) -> ImageFont.FreeTypeFont:
        key = (style, size)
        if key not in self._cache:
            self._cache[key] = ImageFont.truetype(str(self.font_paths[style]), size)
        return self._cache[key]

    def record(self, text: str) -> None:
        self.lines.append(text)

    def centered(self, text: str, cx: int, y: int, style: str, size: int,
                 underline: float = 0.0) -> tuple[int, int]:
        """Draw `text` centered on cx with its top at y; return (width, next y)."""
        f = self.font(style, size)
        w = round(f.getlength(text))
        self.draw.text((cx - w // 2, y), text, font=f, fill=self.ink, anchor="la")
        self.record(text)
        pitch = round(size * 1.3)
        if underline:
            lw = round(w * underline)
            uy = y + round(size * 1.40)
            self.draw.line([(cx - lw // 2, uy), (cx + lw // 2, uy)], fill=self.ink, width=3)
        return w, y + pitch

    def paragraph(self, runs: list[tuple[str, str]], y: int, size: int, indent: int,
                  pitch: int, x0: int | None = None, x1: int | None = None,
                  justify: bool = True) -> int:
        """Word-wrap and (optionally) justify a paragraph of styled runs; return next y."""
        x0 = self.left if x0 is None else x0
        x1 = self.right if x1 is None else x1
        # Runs meet at spaces (e.g. "Điều 1." + " Cấp ..."), so every word has one style.
        words = [(w, style) for text, style in runs for w in text.split(" ") if w]
        space = self.font("regular", size).getlength(" ")
        lines: list[list[tuple[str, str]]] = []
        cur: list[tuple[str, str]] = []
        width = 0.0
        avail = x1 - x0 - indent
        for word in words:
            ww = self.font(word[1], size).getlength(word[0])
            need = ww if not cur else width + space + ww
            if cur and need > avail:
                lines.append(cur)
                cur, width = [word], ww
                avail = x1 - x0
            else:
                cur.append(word)
                width = need
        if cur:
            lines.append(cur)
        for n, line in enumerate(lines):
            start = x0 + (indent if n == 0 else 0)
            widths = [self.font(s, size).getlength(t) for t, s in line]
            gap = space
            last = n == len(lines) - 1
            if justify and not last and len(line) > 1:
                gap = (x1 - start - sum(widths)) / (len(line) - 1)
            x = float(start)
            for (t, s), wd in zip(line, widths):
                self.draw.text((round(x), y), t, font=self.font(s, size), fill=self.ink,
                               anchor="la")
                x += wd + gap
            self.record(" ".join(t for t, _ in line))
            y += pitch
        return y


def signature_scribble(draw: ImageDraw.ImageDraw, cx: int, cy: int, rng: random.Random) -> None:
    """A loose hand-signature stroke (not text, not in the ground truth)."""
    pts = []
    for i in range(60):
        t = i / 59
        x = cx - 230 + 460 * t
        y = cy + 55 * math.sin(t * 11.0) * (1 - 0.6 * t) - 40 * t
        pts.append((x + rng.uniform(-3, 3), y + rng.uniform(-3, 3)))
    draw.line(pts, fill=60, width=6, joint="curve")
    draw.line([(cx - 120, cy + 70), (cx + 260, cy + 30)], fill=60, width=5)


def make_scan(out: Path) -> tuple[Path, Path, str]:
    family, fonts = find_family(["Noto Serif", "DejaVu Serif"])
    rng = random.Random(SEED)
    p = Page(fonts)
    body = pt(13)  # 54 px
    head = pt(12)  # 50 px
    pitch = round(body * 1.22)  # 66 px, a little over single spacing
    width = p.right - p.left
    split = p.left + round(width * 0.38)  # header: left 38 %, right 62 %
    lcx = (p.left + split) // 2
    rcx = (split + p.right) // 2

    # --- Header (Decree 30/2020, Appendix I): two columns, recorded left column first.
    y = p.top
    _, y1 = p.centered(AGENCY_PARENT, lcx, y, "regular", head)
    _, y1 = p.centered(AGENCY, lcx, y1, "bold", head, underline=0.45)
    _, y1 = p.centered("Số: 12/QĐ-UBND", lcx, y1 + pt(8), "regular", body)
    _, y2 = p.centered(NATION, rcx, y, "bold", head)
    _, y2 = p.centered(MOTTO, rcx, y2, "bold", pt(13), underline=1.0)
    _, y2 = p.centered("Tân Phú, ngày 20 tháng 01 năm 2026", rcx, y2 + pt(8), "italic", body)
    y = max(y1, y2) + pt(22)

    # --- Title, summary, authority
    cx = (p.left + p.right) // 2
    _, y = p.centered("QUYẾT ĐỊNH", cx, y, "bold", pt(14))
    _, y = p.centered("Về việc cấp giấy phép xây dựng nhà ở riêng lẻ", cx, y, "bold", body,
                      underline=0.4)
    y += pt(14)
    _, y = p.centered("CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ TÂN PHÚ", cx, y, "bold", body)
    y += pt(8)

    indent = mm(12.7)
    for para in QD_BASIS:
        y = p.paragraph(para, y, body, indent, pitch) + pt(4)
    y += pt(4)
    _, y = p.centered("QUYẾT ĐỊNH:", cx, y, "bold", body)
    y += pt(6)
    for para in QD_ARTICLES:
        y = p.paragraph(para, y, body, indent, pitch) + pt(4)

    # --- Signature block: "Nơi nhận" left, signer right; recorded left first.
    y += pt(10)
    small = pt(11)
    yl = y
    f = p.font("bolditalic", head)
    p.draw.text((p.left, yl), "Nơi nhận:", font=f, fill=p.ink, anchor="la")
    p.record("Nơi nhận:")
    yl += round(head * 1.3)
    for item in ["- Như Điều 3;", "- Chủ tịch, các PCT UBND xã;", "- Lưu: VT, KT."]:
        p.draw.text((p.left, yl), item, font=p.font("regular", small), fill=p.ink, anchor="la")
        p.record(item)
        yl += round(small * 1.25)
    _, yr = p.centered("CHỦ TỊCH", rcx, y, "bold", body)
    signature_scribble(p.draw, rcx, yr + mm(12), rng)
    _, yr = p.centered(SIGNER_NAME, rcx, yr + mm(26), "bold", body)
    if max(yl, yr) > p.bottom:
        sys.exit(f"make-samples: the decision does not fit the page ({max(yl, yr)} > {p.bottom})")

    gt = "\n".join(unicodedata.normalize("NFC", t) for t in p.lines) + "\n"

    img = simulate_scan(p.img, rng)
    png = out / "scan-quyet-dinh.png"
    img.save(png, dpi=(DPI, DPI), optimize=True)
    gt_path = out / "scan-quyet-dinh.gt.txt"
    gt_path.write_text(gt, encoding="utf-8")
    print(f"scan: font {family} ({fonts['regular']}), bottom of text at y={max(yl, yr)} px")
    return png, gt_path, gt


def simulate_scan(clean: Image.Image, rng: random.Random) -> Image.Image:
    """Skew, optical blur, sensor noise, dust, then a fixed-threshold 1-bit conversion."""
    w, h = clean.size
    paper = 236
    img = clean.point(lambda v: paper * v // 255)  # white paper -> light grey
    img = img.filter(ImageFilter.GaussianBlur(1.0))
    img = img.rotate(SKEW_DEG, resample=Image.Resampling.BICUBIC, fillcolor=paper)
    # Sensor noise: seeded uniform noise, smoothed a little (grain) and scaled to NOISE_SIGMA,
    # so that the thresholded glyph edges come out ragged but the paper stays clean.
    noise = Image.frombytes("L", (w, h), rng.randbytes(w * h)).filter(ImageFilter.GaussianBlur(0.7))
    stat = ImageStat.Stat(noise)
    mean, std = stat.mean[0], stat.stddev[0]
    lut = [max(0, min(255, round(128 + (v - mean) * NOISE_SIGMA / std))) for v in range(256)]
    img = ImageChops.add(img, noise.point(lut), scale=1.0, offset=-128)
    # Dust specks and a few short hair-like marks.
    d = ImageDraw.Draw(img)
    for _ in range(120):
        x, y = rng.randrange(w), rng.randrange(h)
        r = rng.choice([1, 2, 2, 3, 4])
        d.ellipse([x - r, y - r, x + r, y + r], fill=rng.randrange(0, 90))
    for _ in range(3):
        x, y = rng.randrange(w), rng.randrange(h)
        d.line([(x, y), (x + rng.randrange(-40, 40), y + rng.randrange(10, 60))],
               fill=60, width=3)
    return img.point(lambda v: 255 if v > THRESHOLD else 0, mode="1")


# --------------------------------------------------------------------------------------------
# 2. The born-digital official letter (reportlab)
# --------------------------------------------------------------------------------------------

def unhinted(path: Path, tmpdir: Path) -> Path:
    """Latin/Vietnamese part of a TTF without hinting instructions.

    reportlab subsets the font itself but keeps the TrueType hinting (fpgm/prep/cvt and the
    per-glyph instructions), which is about half of each embedded subset and useless in a PDF.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont as FTFont

    opts = subset.Options()
    opts.hinting = False
    opts.layout_features = []
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    font = FTFont(str(path), recalcTimestamp=False)
    sub = subset.Subsetter(opts)
    # Basic Latin, Latin-1, Latin Extended-A/B, combining marks, Latin Extended Additional
    # (the precomposed Vietnamese letters), general punctuation.
    sub.populate(unicodes=[*range(0x20, 0x250), *range(0x300, 0x370), *range(0x1E00, 0x1F00),
                           *range(0x2000, 0x2070)])
    sub.subset(font)
    dest = tmpdir / path.name
    font.save(str(dest))
    return dest


def make_pdf(out: Path) -> tuple[Path, str]:
    from reportlab.lib.enums import TA_JUSTIFY
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm as MM
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Paragraph

    family, fonts = find_family(["Liberation Serif", "Noto Serif", "DejaVu Serif"])
    names = {s: f"HosoSerif-{s}" for s in fonts}
    tmp = tempfile.TemporaryDirectory(prefix="make-samples-")
    for style, path in fonts.items():
        pdfmetrics.registerFont(TTFont(names[style], str(unhinted(path, Path(tmp.name)))))
    pdfmetrics.registerFontFamily("HosoSerif", normal=names["regular"], bold=names["bold"],
                                  italic=names["italic"], boldItalic=names["bolditalic"])
    R, B, I, BI = (names[s] for s in ("regular", "bold", "italic", "bolditalic"))

    pdf = out / "cong-van.pdf"
    W, H = A4
    c = Canvas(str(pdf), pagesize=A4, invariant=1, pageCompression=1, initialFontName=R)
    c.setTitle("Công văn số 35/UBND-VP về việc đề nghị bổ sung hồ sơ (mẫu thử)")
    c.setAuthor("Ủy ban nhân dân xã Tân Phú (hư cấu, dữ liệu mẫu của hoso)")
    c.setSubject("Tài liệu mẫu tổng hợp để thử ký số PAdES; không có dữ liệu thật")
    c.setKeywords("hoso, mẫu, công văn, PAdES")
    c.setCreator("hoso scripts/make-samples.py")

    left, right, top = 30 * MM, W - 15 * MM, H - 20 * MM
    width = right - left
    split = left + width * 0.38
    lcx, rcx, cx = (left + split) / 2, (split + right) / 2, (left + right) / 2

    def centred(text: str, x: float, y: float, font: str, size: float,
                underline: float = 0.0) -> float:
        c.setFont(font, size)
        c.drawCentredString(x, y, text)
        if underline:
            lw = pdfmetrics.stringWidth(text, font, size) * underline
            c.setLineWidth(0.6)
            c.line(x - lw / 2, y - 3.5, x + lw / 2, y - 3.5)
        return y - size * 1.3

    # Header
    y0 = top - 12
    y = centred(AGENCY_PARENT, lcx, y0, R, 12)
    y = centred(AGENCY, lcx, y, B, 12, underline=0.45)
    y = centred("Số: 35/UBND-VP", lcx, y - 8, R, 13)
    y = centred("V/v đề nghị bổ sung hồ sơ", lcx, y, R, 12)
    yr = centred(NATION, rcx, y0, B, 12)
    yr = centred(MOTTO, rcx, yr, B, 13, underline=1.0)
    yr = centred("Tân Phú, ngày 08 tháng 01 năm 2026", rcx, yr - 8, I, 13)
    y = min(y, yr) - 22

    y = centred(f"Kính gửi: Bà {APPLICANT}, ấp Phú Hòa, xã Tân Phú.", cx, y, R, 14) - 10

    body = ParagraphStyle("body", fontName=R, fontSize=13, leading=17, alignment=TA_JUSTIFY,
                          firstLineIndent=12.7 * MM, spaceAfter=5)
    item = ParagraphStyle("item", parent=body, firstLineIndent=0, leftIndent=12.7 * MM)
    paras = [
        (body, "Ủy ban nhân dân xã Tân Phú nhận được hồ sơ đề nghị cấp giấy phép xây dựng "
               f"nhà ở riêng lẻ của bà {APPLICANT}, nộp ngày 05 tháng 01 năm 2026 (mã hồ sơ: "
               "TP-2026-0007). Qua kiểm tra, hồ sơ chưa đủ thành phần theo quy định. Đề nghị "
               "bà bổ sung các giấy tờ sau:"),
        (item, "1. Bản sao giấy chứng nhận quyền sử dụng đất đối với thửa đất số 123, "
               "tờ bản đồ số 45;"),
        (item, "2. Hai bộ bản vẽ thiết kế xây dựng (mặt bằng, mặt cắt, mặt đứng chính, "
               "mặt bằng móng);"),
        (item, "3. Bản cam kết bảo đảm an toàn đối với công trình liền kề."),
        (body, "Hồ sơ bổ sung nộp tại Trung tâm Phục vụ hành chính công xã Tân Phú trong "
               "thời hạn <b>10 ngày làm việc</b> kể từ ngày nhận được văn bản này. Quá thời "
               "hạn trên, hồ sơ sẽ được trả lại theo quy định."),
        (body, "Mọi thắc mắc xin liên hệ Văn phòng Hội đồng nhân dân và Ủy ban nhân dân xã, "
               "điện thoại 0200 000 0000 (số hư cấu)."),
        (body, "Ủy ban nhân dân xã Tân Phú thông báo để bà biết và thực hiện./."),
    ]
    for style, text in paras:
        para = Paragraph(text, style)
        _, h = para.wrap(width, H)
        y -= h
        para.drawOn(c, left, y)
        y -= style.spaceAfter
    y -= 24

    # Signature block: "Nơi nhận" left, signer right, a large blank gap for the signature.
    yl = y
    c.setFont(BI, 12)
    c.drawString(left, yl, "Nơi nhận:")
    yl -= 14
    c.setFont(R, 11)
    for line in ["- Như trên;", "- Chủ tịch, các PCT UBND xã;", "- Phòng Kinh tế;",
                 "- Lưu: VT, VP."]:
        c.drawString(left, yl, line)
        yl -= 13
    ys = centred("TM. ỦY BAN NHÂN DÂN", rcx, y, B, 13)
    ys = centred("CHỦ TỊCH", rcx, ys, B, 13)
    box_top = ys + 4
    name_y = ys - 42 * MM
    centred(SIGNER_NAME, rcx, name_y, B, 13)
    # Blank area left for a visible signature (PDF user space, points, origin bottom-left);
    # printed below and documented in samples/README.md.
    box = (split + 10, name_y + 16, right, box_top - 6)
    if name_y < 20 * MM:
        sys.exit("make-samples: the letter does not fit the page")
    c.showPage()
    c.save()
    tmp.cleanup()
    print(f"pdf: font {family} ({fonts['regular']}); blank signature area "
          f"[{box[0]:.0f} {box[1]:.0f} {box[2]:.0f} {box[3]:.0f}] pt (x0 y0 x1 y1)")
    return pdf, family


# --------------------------------------------------------------------------------------------
# Optional self-check
# --------------------------------------------------------------------------------------------

SCAN_KEYWORDS = ["QUYẾT ĐỊNH", "12/QĐ-UBND", "Tân Phú", "20 tháng 01 năm 2026",
                 "giấy phép xây dựng", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                 "Độc lập - Tự do - Hạnh phúc", "Nguyễn Văn An", "Điều 1."]
PDF_KEYWORDS = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "35/UBND-VP", "V/v đề nghị bổ sung hồ sơ", "Tân Phú",
                "ngày 08 tháng 01 năm 2026", "Kính gửi", "giấy phép xây dựng", "Nguyễn Văn An"]


def _flat(s: str) -> str:
    return " ".join(unicodedata.normalize("NFC", s).split())


def check(png: Path, gt: str, pdf: Path) -> None:
    if shutil.which("tesseract"):
        ocr = subprocess.run(["tesseract", str(png), "-", "-l", "vie"], check=True,
                             capture_output=True, text=True).stdout
        a, b = _flat(gt), _flat(ocr)
        sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
        edits = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in sm.get_opcodes()
                    if op != "equal")
        # Word recall ignores reading order (engines order the two-column blocks differently).
        ocr_words = Counter(b.split())
        gt_words = Counter(a.split())
        recall = sum((gt_words & ocr_words).values()) / sum(gt_words.values())
        print(f"tesseract: similarity {sm.ratio():.3f}, approx. CER {edits / len(a):.1%}, "
              f"word recall {recall:.1%}")
        for k in SCAN_KEYWORDS:
            print(f"  {'ok  ' if k in b else 'MISS'} {k}")
    else:
        print("tesseract not found; skipping the OCR check")
    if shutil.which("pdftotext"):
        text = _flat(subprocess.run(["pdftotext", str(pdf), "-"], check=True,
                                    capture_output=True, text=True).stdout)
        print("pdftotext:")
        for k in PDF_KEYWORDS:
            print(f"  {'ok  ' if k in text else 'MISS'} {k}")
    else:
        print("pdftotext not found; skipping the PDF text check")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = Path(__file__).resolve().parent.parent
    ap.add_argument("--out", type=Path, default=root / "samples")
    ap.add_argument("--check", action="store_true", help="run tesseract/pdftotext afterwards")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    png, gt_path, gt = make_scan(args.out)
    pdf, _ = make_pdf(args.out)
    for f in (png, gt_path, pdf):
        print(f"wrote {f} ({f.stat().st_size:,} bytes)")
    if args.check:
        check(png, gt, pdf)


if __name__ == "__main__":
    main()

"""QR codes (segno, pure Python): the class's address on the sign-in cards, as inline SVG (no JavaScript, prints
sharp at any size).

Must not import anything of tpkit's but errors.
"""

from __future__ import annotations


def svg(text: str, title: str = "") -> str:
    """An <svg> element of `text` as a QR code (error correction M: a crumpled or smudged card still scans)."""
    import segno  # here, not at the top: a web worker starts without it (only the sign-in cards draw codes)

    code = segno.make_qr(text, error="m", boost_error=False)
    return code.svg_inline(scale=1, border=2, title=title or None, omitsize=True, svgclass="qr", lineclass=None)

"""The decoders by name, as `camera.decoder` and the CLI name them; each imported only when chosen."""

from __future__ import annotations

from typing import Any

#: Names `make_decoder` accepts, the default first.
DECODER_KINDS = ("zxing", "zxing+preprocess", "pyzbar", "pyzbar+preprocess")


def make_decoder(kind: str, **options: Any) -> Any:
    """A decoder by name: "zxing", "pyzbar", or either with clean-up passes ("zxing+preprocess", …).

    With "+preprocess" one clean-up pass is tried per frame that gave nothing, in rotation (see
    `PreprocessingDecoder`): the kiosk's frame budget holds, and a held-up phone gets them all.
    """
    if kind == "zxing+preprocess":
        from .preprocess import ZXING_PASSES, PreprocessingDecoder
        from .zxing_decoder import ZxingDecoder

        return PreprocessingDecoder(ZxingDecoder(**options), passes=ZXING_PASSES, passes_per_frame=1)
    if kind == "zxing":
        from .zxing_decoder import ZxingDecoder

        return ZxingDecoder(**options)
    if kind == "pyzbar":
        from .pyzbar_decoder import PyzbarDecoder

        return PyzbarDecoder(**options)
    if kind == "pyzbar+preprocess":
        from .preprocess import PreprocessingDecoder
        from .pyzbar_decoder import PyzbarDecoder

        return PreprocessingDecoder(PyzbarDecoder(invert=False, **options), passes_per_frame=1)
    raise ValueError(f"unknown decoder {kind!r}: expected zxing, zxing+preprocess, pyzbar or pyzbar+preprocess")

"""QR decoding on the camera's luminance plane, and what the kiosk builds around it.

- `zxing_decoder.ZxingDecoder`: zxing-cpp on the Y plane in place (the default decoder);
- `pyzbar_decoder.PyzbarDecoder`: zbar fed the Y plane's bytes (the design's baseline);
- `preprocess`: clean-up passes (contrast, sharpening, upscaling, inversion) retried on a frame
  that gave nothing; `PreprocessingDecoder` wraps either decoder with them;
- `decoders.make_decoder`: a decoder by the name `camera.decoder` uses ("zxing", "pyzbar", …);
- `isolated.IsolatedDecoder`: any of them in a child process, restarted when it crashes or hangs;
- `images.load_gray`: image files as luminance frames.

Decoding off the render loop, one frame at a time, is the kiosk's camera worker
(`kiosk.loop.workers.CameraWorker`); turning frame-by-frame reads into sightings is
`kiosk.checkpoint.sightings`.

Importing this package loads neither zbar, zxing nor Pillow: the front names the decoders and
the isolation; the decoder modules and `images` load their libraries when imported.
"""

from .decoders import DECODER_KINDS, make_decoder
from .isolated import DecodeFailed, IsolatedDecoder

__all__ = ["DECODER_KINDS", "DecodeFailed", "IsolatedDecoder", "make_decoder"]

"""QR decoding on the camera's luminance plane, and what the kiosk builds around it.

- `zxing_decoder.ZxingDecoder`: zxing-cpp on the Y plane in place (the default decoder);
- `pyzbar_decoder.PyzbarDecoder`: zbar fed the Y plane's bytes (the design's baseline);
- `preprocess`: clean-up passes (contrast, sharpening, upscaling, inversion) retried on a frame
  that gave nothing; `PreprocessingDecoder` wraps either decoder with them;
- `decoders.make_decoder`: a decoder by the name `camera.decoder` uses ("zxing", "pyzbar", …);
- `isolated.IsolatedDecoder`: any of them in a child process, restarted when it crashes or hangs;
- `worker.DecodeWorker`: decoding off the render loop with a one-frame mailbox (skip, never queue);
- (`kiosk.checkpoint.sightings.CodesInView`, pure logic, turns frame-by-frame reads into sightings:
  one visitor; several codes);
- `images.load_gray`: image files as luminance frames.

Import the modules you need: importing this package loads neither zbar, zxing nor Pillow.
"""

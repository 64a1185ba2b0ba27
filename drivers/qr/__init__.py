"""QR decoding: zbar through pyzbar on the camera's luminance plane, and image loading for tests.

Import the modules you need (`drivers.qr.pyzbar_decoder`, `drivers.qr.images`): importing this
package loads neither zbar nor Pillow.
"""

"""Frame sources for the QR reader: the Pi camera, a rendered scene, recorded images and video.

All implement `kiosk.ports.FrameSource`.  Nothing here imports picamera2 or OpenCV at load time:
each is imported by the class that needs it.
"""

from .files import ImageFolderSource, VideoFileSource
from .phone import draw_phone, qr_module_px, qr_modules, render_phone, room_background
from .picamera2_source import Picamera2Source
from .simulated import PhoneView, Scene, SimulatedCamera

__all__ = [
    "ImageFolderSource",
    "PhoneView",
    "Picamera2Source",
    "Scene",
    "SimulatedCamera",
    "VideoFileSource",
    "draw_phone",
    "qr_module_px",
    "qr_modules",
    "render_phone",
    "room_background",
]

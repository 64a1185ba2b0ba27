"""Frame sources for the QR reader: the Pi camera, a rendered scene, recorded images, video, a webcam.

All implement `kiosk.ports.FrameSource`.  Nothing here imports picamera2 or OpenCV at load time:
each is imported by the class that needs it.  `region` cuts frames to where phones are held;
`photo` and `grades` photograph phones (tilt, glare, moiré, a thumb, dim screens, blur, noise)
for the decoder's tests and read-rate benchmarks.
"""

from .files import ImageFolderSource, VideoFileSource
from .phone import draw_phone, qr_module_px, qr_modules, render_phone, room_background
from .photo import Glare, Shot, photograph, render_shot
from .picamera2_source import Picamera2Source
from .region import CroppedSource, Region
from .simulated import PhoneView, Scene, SimulatedCamera
from .webcam import WebcamSource

__all__ = [
    "CroppedSource",
    "Glare",
    "ImageFolderSource",
    "PhoneView",
    "Picamera2Source",
    "Region",
    "Scene",
    "Shot",
    "SimulatedCamera",
    "VideoFileSource",
    "WebcamSource",
    "draw_phone",
    "photograph",
    "qr_module_px",
    "qr_modules",
    "render_phone",
    "render_shot",
    "room_background",
]

"""Hardware adapters and their emulators, each behind a port of `kiosk.ports`.

- `mlx90640`: the thermal array (`ThermalSensor`): drivers, the datasheet's maths, a register emulator;
- `camera`: frame sources (`FrameSource`): the Pi camera, a rendered scene, files, a webcam;
- `qr`: QR decoders (`QrDecoder`), also isolated in a child process;
- `signals`: buzzer and lights (`Signals`);
- `audio`: spoken prompts (`Voice`).

Drivers decide nothing and draw nothing: they never import the running kiosk nor `ui`.
"""

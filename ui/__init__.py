"""pygame screens: render `kiosk.ports.ScreenView`, decide nothing."""

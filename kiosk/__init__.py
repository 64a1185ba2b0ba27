"""The checkpoint kiosk core: pure logic, hardware only through `kiosk.ports`."""

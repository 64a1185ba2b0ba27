"""Visitor scenarios played through the real pipeline on emulated hardware (see shared/scenarios/SPEC.md)."""

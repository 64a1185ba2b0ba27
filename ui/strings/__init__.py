"""The string catalogues, one JSON file per language (a package so that setuptools ships them)."""

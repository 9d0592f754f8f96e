"""pylondiag: remote fault diagnosis for Pylontech US-series 48 V LiFePO4 battery stacks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pylondiag")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]

"""The version of nas (one place; the package, run.json and latency tables read it here)."""
__version__ = "0.1.0"

"""Training and evaluation: labelled data in, a verified model file out."""
from .train import train

__all__ = ["train"]

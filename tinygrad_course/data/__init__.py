"""Data: train/dev/test splits, input normalization, mini-batches and built-in 2-D datasets."""
from .datasets import (DATASETS, football_boundary, load_dataset, make_blobs, make_circles,
                       make_football, make_moons, make_planar_flower, make_spirals)
from .loader import DataLoader, minibatches
from .normalize import Normalizer
from .splits import SplitRatios, Splits, suggest_split, train_dev_test_split

__all__ = [
    "train_dev_test_split", "suggest_split", "Splits", "SplitRatios", "Normalizer", "minibatches",
    "DataLoader", "make_moons", "make_circles", "make_spirals", "make_planar_flower", "make_blobs",
    "make_football", "football_boundary", "load_dataset", "DATASETS",
]

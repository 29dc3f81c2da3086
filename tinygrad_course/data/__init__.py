"""Data: train/dev/test splits, input normalization, datasets and mini-batches, and built-in
datasets (2-D ones generated, scikit-learn's 8x8 digits)."""
from .datasets import (DATASETS, football_boundary, load_dataset, load_digits, make_blobs,
                       make_circles, make_football, make_moons, make_planar_flower, make_spirals)
from .dataset import Dataset, Subset, TensorDataset, default_collate, random_split
from .loader import DataLoader, minibatches
from .normalize import Normalizer
from .splits import SplitRatios, Splits, suggest_split, train_dev_test_split

__all__ = [
    "train_dev_test_split", "suggest_split", "Splits", "SplitRatios", "Normalizer", "minibatches",
    "DataLoader", "Dataset", "TensorDataset", "Subset", "random_split", "default_collate",
    "make_moons", "make_circles", "make_spirals", "make_planar_flower", "make_blobs",
    "make_football", "football_boundary", "load_dataset", "load_digits", "DATASETS",
]

"""Optimizers (the course's SGD, Momentum, RMSprop, Adam) and learning-rate schedules."""
from .adam import Adam, AdamW
from .momentum import Momentum
from .optimizer import Optimizer, check_hyperparameter
from .rmsprop import RMSprop
from .schedules import (ChainedScheduler, CosineAnnealingLR, CosineAnnealingWarmRestarts,
                        ExponentialDecay, InverseSqrtDecay, InverseTimeDecay, LinearLR,
                        LRSchedule, LRScheduler, ManualSchedule, OneCycleLR, ReduceLROnPlateau,
                        ScheduledInverseTimeDecay, SequentialLR, StaircaseDecay, StepLR)
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Momentum", "RMSprop", "Adam", "AdamW", "check_hyperparameter",
           "LRSchedule", "InverseTimeDecay", "ScheduledInverseTimeDecay",
           "ExponentialDecay", "InverseSqrtDecay", "StaircaseDecay", "ManualSchedule",
           "LRScheduler", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LinearLR",
           "OneCycleLR", "ReduceLROnPlateau", "ChainedScheduler", "SequentialLR", "StepLR"]

"""Optimizers (the course's SGD, Momentum, RMSprop, Adam; AdamW) and learning-rate schedules: the
course's decay formulas (`schedules`) and PyTorch's schedulers (`lr_scheduler`)."""
from .adam import Adam, AdamW
from .momentum import Momentum
from .optimizer import Optimizer, check_hyperparameter
from .rmsprop import RMSprop
from .lr_scheduler import (ChainedScheduler, CosineAnnealingLR, CosineAnnealingWarmRestarts,
                           LinearLR, LRScheduler, OneCycleLR, ReduceLROnPlateau, SequentialLR)
from .schedules import (ExponentialDecay, ExponentialLR, InverseSqrtDecay, InverseTimeDecay,
                        LambdaLR, LRSchedule, ManualSchedule, ScheduledInverseTimeDecay,
                        StaircaseDecay, StepLR)
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Momentum", "RMSprop", "Adam", "AdamW", "check_hyperparameter",
           "LRSchedule", "InverseTimeDecay", "ScheduledInverseTimeDecay",
           "ExponentialDecay", "InverseSqrtDecay", "StaircaseDecay", "ManualSchedule",
           "LRScheduler", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LinearLR",
           "OneCycleLR", "ReduceLROnPlateau", "ChainedScheduler", "SequentialLR", "StepLR",
           "ExponentialLR", "LambdaLR"]

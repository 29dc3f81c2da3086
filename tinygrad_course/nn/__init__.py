"""Neural networks: Module and Parameter, layers, initialization, losses, model gradient checks.

    import tinygrad_course as tc
    from tinygrad_course import nn
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    loss = nn.F.binary_cross_entropy_with_logits(model(X), y) + nn.F.l2_penalty(model, 0.7, m)
"""
from . import functional
from . import init
from . import utils
from .activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .activation import (CELU, ELU, GELU, SELU, Hardsigmoid, Hardswish, Hardtanh, LogSigmoid, Mish,
                         ReLU6, SiLU, Softmin, Softplus, Softsign)
from .attention import MultiheadAttention
from .batchnorm import BatchNorm1d
from .dropout import Dropout2d
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .embedding import Embedding
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                     MSELoss, NLLLoss, SmoothL1Loss)
from .norm import BatchNorm2d, GroupNorm, LayerNorm
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .shape import Flatten, Unflatten
from .dropout import Dropout
from .functional import (accuracy, binary_cross_entropy, binary_cross_entropy_with_logits,
                         confusion_matrix, cross_entropy, l2_penalty, mse_loss, one_hot)
from .gradcheck import (GradientCheckReport, check_gradients, parameters_to_vector,
                        vector_to_parameters)
from .linear import Linear
from .module import (Identity, IncompatibleKeys, Module, ModuleDict, ModuleList, Parameter,
                     Sequential, StateDictError)

F = functional

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Identity", "Linear",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "GELU", "SiLU", "ELU", "SELU",
    "CELU", "Softplus", "Softsign", "Mish", "ReLU6", "Hardtanh", "Hardsigmoid", "Hardswish",
    "LogSigmoid", "Softmin", "Dropout", "BatchNorm1d",
    "functional", "F", "init", "mse_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy", "one_hot", "accuracy", "confusion_matrix",
    "l2_penalty",
    "check_gradients", "GradientCheckReport", "parameters_to_vector", "vector_to_parameters",
    "StateDictError", "IncompatibleKeys",
    "Flatten", "Unflatten", "LayerNorm", "GroupNorm", "BatchNorm2d", "Embedding", "Dropout2d",
    "utils", "MultiheadAttention", "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d",
    "AdaptiveAvgPool2d", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "HuberLoss",
    "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss",
]

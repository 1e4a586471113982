"""Negative log-likelihood on log-probabilities (paper Eq. 7)."""

from __future__ import annotations

from mer_tf.layers.backend import ops, register


@register(package="mer_tf")
def nll_loss(y_true, y_pred):
    """Per-sample negative log-likelihood: `-y_pred[n, y_true[n]]` (paper Eq. 7, PyTorch's NLLLoss).

    The models end in LogSoftmax, so `y_pred` already holds log-probabilities
    and this is exactly the cross-entropy, without a second softmax. Class
    weights (for the rare classes, e.g. Disgust) come in as Keras sample
    weights: `model.fit(..., class_weight={...})` or a per-sample weight
    array; Keras multiplies them into this per-sample loss and averages.

    A target of shape (batch, num_classes) is read as a class distribution
    q (label smoothing, mixup: `mer_tf.data.SoftTargets`) and the loss is
    the cross-entropy `-sum_c q[n, c] * y_pred[n, c]`, which for a one-hot q
    is the same number.

    Args:
        y_true: integer class indices, shape (batch,) or (batch, 1); or class
            distributions, shape (batch, num_classes).
        y_pred: log-probabilities, shape (batch, num_classes).

    Returns:
        The loss per sample, shape (batch,).
    """
    num_classes = y_pred.shape[-1]
    if len(y_true.shape) == 2 and y_true.shape[-1] == num_classes and num_classes > 1:
        return -ops.sum(ops.cast(y_true, y_pred.dtype) * y_pred, axis=-1)
    labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
    picked = ops.one_hot(labels, num_classes, dtype=y_pred.dtype) * y_pred  # (B, C), one entry per row
    return -ops.sum(picked, axis=-1)

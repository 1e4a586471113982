"""Training and honest evaluation (TensorFlow): Keras fit, LOSO, ablation, Ray.

Public calls (each takes a `TrainConfig` and an output folder and returns a
result naming the artifacts it wrote):
    train(config, out_dir)           -> TrainResult   (a model folder)
    run_loso(config, out_dir)        -> LosoResult    (pooled CNN/ECRL/fused scores)
    run_ablation(config, out_dir)    -> AblationResult (the paper's Tables 1-3)
    evaluate_model(model_dir, data, out_dir) -> LosoResult
"""

from mer_tf.training.ablation import CELLS, AblationResult, run_ablation
from mer_tf.training.config import TrainConfig
from mer_tf.training.evaluate_model import evaluate_model
from mer_tf.training.loso import LosoResult, run_loso
from mer_tf.training.train import TrainResult, train

__all__ = [
    "CELLS",
    "AblationResult",
    "LosoResult",
    "TrainConfig",
    "TrainResult",
    "evaluate_model",
    "run_ablation",
    "run_loso",
    "train",
]

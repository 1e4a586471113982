"""mer_tf.models."""

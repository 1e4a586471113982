"""mer_tf.ecrl."""

"""Subcommands of `mer`: argparse-only at import time (see mer_tf.cli)."""

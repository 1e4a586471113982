"""Weight averaging over the last epochs of a fit (SWA-style; `TrainConfig.weight_average`).

The kept model is the mean of the weights at the end of each of the last N
epochs instead of the last epoch's alone (stochastic weight averaging,
Izmailov et al. 2018, without its cyclic rate: here along the cosine
schedule's tail, as in Polyak averaging). Every weight Keras lists in
`model.weights` is averaged, the moving statistics of batch normalization
too (SWA's paper recomputes them with a pass over the training set instead;
ECCNN has none). Optimizer variables and random-seed states are not weights
and are left as they are.

A resumable run (`mer train`, with Keras's BackupAndRestore) keeps the
running sum in `state_path`, written atomically after the backup of the same
epoch. A run killed between the two resumes with the restored weights, which
are that missing epoch's own, so nothing is lost or counted twice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def weight_average_callback(epochs: int, last: int, state_path: str | Path | None = None):
    """A Keras callback that sets the model to the mean of its last `last` epochs' weights when the fit ends.

    Args:
        epochs: the fit's epoch count (the schedule's length).
        last: how many of the final epochs to average (1..epochs; 1 keeps the last epoch).
        state_path: an .npz file for the running sum (resumable runs), or None (in memory).
    """
    import keras

    if not 1 <= int(last) <= int(epochs):
        raise ValueError(f"weight averaging needs 1 <= last <= epochs. Received: last={last}, epochs={epochs}")
    first = int(epochs) - int(last)  # 0-based index of the first averaged epoch
    path = Path(state_path) if state_path is not None else None

    class WeightAverage(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.sum, self.done, self.checked = None, [], False
            if path is not None and path.is_file():
                with np.load(path) as state:
                    self.done = [int(e) for e in state["epochs"]]
                    self.sum = [state[f"w{i}"] for i in range(len(state.files) - 1)]

        def on_epoch_begin(self, epoch, logs=None):
            if self.checked:
                return
            self.checked = True
            missing = [e for e in range(first, int(epoch)) if e not in self.done]
            if missing == [int(epoch) - 1]:  # killed after the backup, before the sum: the weights are that epoch's
                self._add(int(epoch) - 1)
            elif missing:
                raise RuntimeError(
                    f"The resumed run has no weights of epochs {missing} for its weight average ({path}). "
                    "Start the run afresh in a new work folder."
                )

        def on_epoch_end(self, epoch, logs=None):
            if int(epoch) >= first:
                self._add(int(epoch))

        def on_train_end(self, logs=None):
            if self.sum is not None:
                self.model.set_weights([s / len(self.done) for s in self.sum])
            if path is not None:
                path.unlink(missing_ok=True)  # the run is over: a later run in this folder starts afresh

        def _add(self, epoch: int) -> None:
            weights = [np.asarray(w, np.float64) for w in self.model.get_weights()]
            self.sum = weights if self.sum is None else [s + w for s, w in zip(self.sum, weights)]
            self.done.append(epoch)
            if path is not None:
                _save(path, self.done, self.sum)

    return WeightAverage()


def _save(path: Path, done: list[int], total: list[np.ndarray]) -> None:
    import io

    from mer_tf.atomic import atomic_write_bytes

    buffer = io.BytesIO()
    np.savez(buffer, epochs=np.asarray(done, np.int64), **{f"w{i}": w for i, w in enumerate(total)})
    atomic_write_bytes(path, buffer.getvalue())

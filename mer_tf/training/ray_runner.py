"""Run independent tasks (LOSO folds, ablation cells) through Ray, or inline.

Local by default: `ray.init(num_cpus=2, include_dashboard=False)` and each
task asks for one CPU, so at most two run at once on this 2-core machine;
each worker bounds TensorFlow to one intra-op thread. `address` joins an
existing cluster (`ray start --head` ...), where a user with 68 folds x 7
models spreads them over machines. `use_ray=False` runs the tasks one after
the other in this process (tests, debugging).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

# Every Ray worker gets these: one TF thread each, quiet TF logs.
WORKER_ENV = {
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def run_tasks(
    fn: Callable,
    kwargs_list: Sequence[dict],
    *,
    use_ray: bool = True,
    address: str | None = None,
    num_cpus: int = 2,
    desc: str = "tasks",
    progress: bool = True,
) -> list:
    """Run `fn(**kwargs)` for every entry of `kwargs_list`; results in input order.

    Args:
        fn: a module-level function (Ray pickles it by reference).
        kwargs_list: one dict of keyword arguments per task.
        use_ray: False runs inline, one after the other.
        address: a Ray cluster address; None starts a local Ray.
        num_cpus: CPUs of the local Ray (= tasks at once; one CPU per task).
        desc: progress-bar label.
        progress: show a tqdm bar on stderr.
    """
    from tqdm import tqdm

    if not use_ray:
        return [fn(**kw) for kw in tqdm(kwargs_list, desc=desc, disable=not progress)]

    import ray

    started = False
    if not ray.is_initialized():
        env = {"env_vars": {**WORKER_ENV, "PYTHONPATH": os.pathsep.join(filter(None, [_repo_root(), os.environ.get("PYTHONPATH")]))}}
        if address:
            ray.init(address=address, runtime_env=env, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, runtime_env=env, log_to_driver=False)
        started = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(fn)
        refs = [remote.remote(**kw) for kw in kwargs_list]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list = [None] * len(refs)
        pending = list(refs)
        with tqdm(total=len(refs), desc=desc, disable=not progress) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    results[index[ref]] = ray.get(ref)  # re-raises a task's error here
                    bar.update(1)
        return results
    finally:
        if started:
            ray.shutdown()


def _repo_root() -> str:
    """The folder holding the `mer_tf` package, so workers import the same code."""
    import mer_tf

    return os.path.dirname(os.path.dirname(os.path.abspath(mer_tf.__file__)))

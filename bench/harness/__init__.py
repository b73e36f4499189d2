"""What the benchmarks share: their machine record, result files, training runs and timing.

* ``machine``: the CPU model, core count and load average written into every result JSON.
* ``results``: atomic JSON read/write and the key of a run's settings.
* ``child_process``: one measurement per process, reported on a ``RESULT {json}`` line.
* ``latency``: median wall times of a callable, a ``.tflite`` and a Keras forward pass.
* ``records``: a filtered stream of converter items written to one TFRecord shard.
* ``run_flags``: the training-plan flags of ``bench.ablation`` and ``bench.pose``.
* ``run_config``: the ``Config`` of one benchmark run (loss, modules, epochs, rate).
* ``learning_curve``: a callback that evaluates every few epochs and persists the points.
* ``training_run``: one resumable training run with its learning curve.
* ``timing``: the timing probe and the epochs that fit a time budget.
* ``evaluation``: predictions on records and the face metrics (NME, FR, AUC).
* ``lr_probe``: the MSE learning-rate probe on a split of the training data.
* ``plan``: the stored training plan (timing, epochs, rates) of a resumable benchmark.

Modules that need TensorFlow import it inside their functions, so the benchmarks' ``--help``
stays fast.
"""

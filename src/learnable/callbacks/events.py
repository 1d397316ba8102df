"""The fixed list of events around the seven steps, and how a callback stops training.

A :class:`Callback` implements any of the methods named in :data:`EVENTS`; the Learner calls them
in the order of the callbacks' ``order`` (lower first): :data:`ORDER` is where each built-in callback
stands, and why; a callback of your own runs at 0 unless it sets ``order``. To stop training, a callback raises
:class:`StopTraining` with the reason; the Learner ends cleanly and still runs ``after_fit``.

Example:
    >>> class StopAtEpoch(Callback):
    ...     def after_epoch(self, learner):
    ...         if learner.epoch == 2:  # two epochs done
    ...             raise StopTraining("enough")
"""

from __future__ import annotations

EVENTS = (
    "before_fit",  # 1. initialize: model, optimizer and data are on the device
    "before_epoch",  # every epoch this process trains, a resumed one too: then learner.epoch_batches
    # counts the batches done before the checkpoint, and state restored from it must be kept
    "before_batch",
    "after_predict",  # 2. predict: learner.output holds the model's output
    "after_loss",  # 3. loss: learner.loss holds the batch loss
    "after_backward",  # 4. gradient: every parameter's .grad is filled
    "after_step",  # 5. step: the optimizer has changed the weights
    "after_batch",  # 6. repeat
    "before_validate",
    "after_validate",  # learner.metrics holds this epoch's validation metrics
    "after_epoch",  # learner.metrics: the epoch's train loss and validation metrics; learner.epoch
    # counts the epochs completed, this one included
    "after_fit",  # 7. stop: always runs, even after StopTraining or an error
)


# Where each built-in callback runs among the others on one event (lower first), and why.
ORDER = {
    "Statistics": -110,  # its epoch statistics join learner.metrics before History copies them
    "History": -100,  # the epoch is kept before anything prints it, records it or stops on it
    "NonFiniteGuard": -90,  # a NaN loss or weight is caught before clipping, the step or a checkpoint use it
    "Augment": -20,  # first in before_batch: every other callback sees the batch the model will see
    "LRSchedule": -10,  # the step's learning rate joins learner.metrics before History copies them
    "ProgressBar": 5,  # before EarlyStopping, so the epoch that stops training is printed too
    "RecordRun": 6,  # before EarlyStopping, so the epoch that stops training is recorded too
    "EarlyStopping": 10,  # after the epoch is printed and recorded: it may stop training on it
    "Checkpoint": 90,  # last: it saves every other callback's state as this step left it
}


class StopTraining(Exception):
    """Raised by a callback to end training now; the message is the reason, kept in
    ``learner.stop_reason``."""


class SkipStep(Exception):
    """Raised in ``after_backward`` to skip this batch's optimizer step (the weights stay as they are)."""


class NonFiniteError(ValueError):
    """The loss or the weights became NaN or infinite; the message names the epoch and the step."""


class Callback:
    """Base class for callbacks: override any method named in :data:`EVENTS`.

    ``order`` sets the calling order among callbacks (lower runs first).
    """

    order: int = 0

    def state_dict(self) -> dict:
        """State to keep in a checkpoint (counters, best values); empty by default."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""

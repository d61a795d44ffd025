"""Per-epoch progress of a fit: a tqdm bar when ``verbose``, log records always.

- ``verbose=True`` shows a tqdm bar (``tqdm.auto``: a widget in Jupyter, text
  in a terminal) with the epoch count, rate, ETA and the epoch's metrics.
  When stderr is not a terminal (a CI log, a file) the bar is redrawn at most
  every ``LOG_REDRAW_SECONDS`` so logs stay short. Without tqdm installed,
  one plain line per epoch goes to stdout, as sklearn's MLP prints.
- Whatever ``verbose`` is, every epoch is sent to the ``"skneural"`` logger
  at INFO level, so an application's logging configuration decides whether
  training progress reaches its logs::

      logging.getLogger("skneural").setLevel(logging.INFO)
"""

import logging
import sys

logger = logging.getLogger("skneural")
LOG_REDRAW_SECONDS = 10.0


class Progress:
    """Report epochs of one fit of ``total`` epochs, labelled ``desc``."""

    def __init__(self, verbose, total, desc):
        self.verbose, self.total, self.desc = verbose, total, desc
        self.bar = None
        if verbose:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            interactive = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
            self.bar = tqdm(total=total, desc=desc, unit="epoch", leave=True,
                            mininterval=0.1 if interactive else LOG_REDRAW_SECONDS)

    def update(self, epoch, **metrics):
        """Record epoch ``epoch`` (1-based) with its metrics; ``None`` values are left out."""
        shown = {name: value for name, value in metrics.items() if value is not None}
        if logger.isEnabledFor(logging.INFO):
            logger.info("%s epoch %d/%d: %s", self.desc, epoch, self.total,
                        ", ".join(f"{name}={value:.6g}" for name, value in shown.items()))
        if not self.verbose:
            return
        if self.bar is not None:
            self.bar.set_postfix({name: f"{value:.5g}" for name, value in shown.items()},
                                 refresh=False)
            self.bar.update(1)
        else:
            print(f"Iteration {epoch}, "
                  + ", ".join(f"{name} = {value:.8g}" for name, value in shown.items()))

    def close(self):
        if self.bar is not None:
            self.bar.close()

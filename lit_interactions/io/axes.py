"""The logging axes every logger shares."""

# The epoch axis of every epoch-level metric, counted as the monitor counts: finished training epochs (0 = the
# initial model). Logged with the callbacks' scalars; the run's wandb logger adds it to Lightning's epoch metrics.
EPOCH_AXIS = "epochs_trained"

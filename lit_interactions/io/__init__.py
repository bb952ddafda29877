"""The bottom layer: how the project talks to files and services (wandb mode); imports nothing of the package."""

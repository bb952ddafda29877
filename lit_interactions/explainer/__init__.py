"""One call for the AND-OR interactions of any model: image classifiers, Hugging Face text classifiers, causal LMs.

    from lit_interactions import explain
    result = explain(model, image)                    # an nn.Module and an image [C, H, W]
    result = explain("path/to/llama", "The capital of France is")  # a local causal LM folder
    result.strongest(5)
"""

from lit_interactions.explainer.api import explain

__all__ = ["explain"]

"""One-line help for the controls that are not settings, and for every chart: what it shows, what to look for."""

CONTROL_HELP: dict[str, str] = {  # controls that are not settings; each setting's help is declared with it
    "preset": "A recipe to start from; every control below stays editable. Each preset's card on Home says what "
              "it teaches.",
    "aug_recipe": "Fill the augmentation sliders from a named recipe (the CLI's --augment).",
}


def width_help(index: int) -> str:
    """Help for the width of hidden layer `index` (0-based)."""
    return (f"Units in hidden layer {index + 1}. Wider layers learn more features (see the first layer's "
            "weights on Inspect) and cost more time.")


CHART_HELP: dict[str, str] = {
    "gradflow": "Size of each layer's weight gradient per epoch (log scale). Healthy nets keep all layers within about "
                "one order of magnitude; a first layer far below the output means vanishing gradients.",
    "gradflow_epoch": "The same gradient sizes at one epoch, input side on the left: a staircase down to the left is "
                      "the signature of vanishing gradients.",
    "update_ratio": "How much one optimizer step changes a layer, relative to its weights. Around 1e-3 is the classic "
                    "healthy value; far below, the layer barely learns; far above, training is unstable.",
    "units": "Dead units (ReLU never active on 512 training images) and saturated units (sigmoid/tanh stuck near "
             "their limits) per layer. Both stop learning: their gradient is zero or nearly so.",
    "first_layer": "Each square is one hidden unit's 784 input weights drawn as an image: blue pixels excite it, red "
                   "ones inhibit it. Move the epoch slider to watch noise turn into strokes.",
    "weight_hist": "Distribution of each layer's weights at this epoch. Watch it spread from the initial shape as "
                   "the net learns; a histogram that never moves belongs to a layer that does not learn.",
    "act_hist": "Distribution of each hidden layer's outputs on 512 training images. Sigmoid piled at 0 and 1 is "
                "saturation; ReLU piled at 0 is dead units.",
    "projection": "Each dot is a test image placed by its hidden-layer activations (PCA keeps the widest spread, "
                  "t-SNE keeps neighbours close). Separate colour islands mean the layer tells the classes apart.",
    "probes": "Test accuracy of a linear classifier trained on each layer's activations: how linearly separable "
              "the classes are there. It should rise from the pixels to the last hidden layer.",
    "confusion_time": "The test confusion matrix after each epoch: rows are true classes, columns predictions. Slide "
                      "the epochs to watch mistakes move onto the diagonal.",
    "test_image": "The test image being explained and the model's top three classes: green when it is right, red "
                  "when wrong. Try 'A mistake' to see what misleads it.",
    "saliency": "Gradient of the predicted class's score with respect to each pixel: blue pixels, made brighter, "
                "raise the score; red ones lower it. It shows what the network looks at.",
    "fgsm": "The smallest uniform nudge of every pixel (FGSM, ε in pixel units of 0–1) that changes the prediction. "
            "Small ε: the decision is fragile.",
    "twin": "The same configuration trained on MNIST and on Fashion-MNIST: same network, different data. Compare "
            "the curves, the per-class accuracy and where the confusions fall.",
    "diagnose": "Rules of thumb applied to this run's curves and layer statistics. Each hint explains what it saw "
                "and offers a fix that opens on Train as a new run.",
}

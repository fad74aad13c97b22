"""One-line help for every training control: what it is, and what to look for when you change it."""

CONTROL_HELP: dict[str, str] = {
    "preset": "A recipe to start from; every control below stays editable. Each preset's card on Home says what "
              "it teaches.",
    "cfg_layers": "How many hidden layers sit between the pixels and the 10 outputs. 0 is a linear classifier "
                  "(logistic regression); more layers can learn more, but deep sigmoid stacks stop learning.",
    "cfg_activation": "The function each hidden unit applies. ReLU trains fast; sigmoid and tanh saturate, so "
                      "gradients fade in deep nets (watch Inspect → Gradient flow).",
    "cfg_dropout": "Probability of zeroing a hidden unit at each step while training. Closes the gap between train "
                   "and validation accuracy; too much slows learning.",
    "cfg_norm": "Normalise each hidden layer's pre-activations. Keeps signals in range, so deep and sigmoid nets "
                "train again.",
    "cfg_optimizer": "How the gradient becomes a weight update. SGD is the textbook rule; momentum and Adam reach "
                     "the same accuracy in fewer epochs.",
    "cfg_lr": "Step size of each update. Too high: the loss jumps or becomes NaN. Too low: the loss barely moves.",
    "cfg_schedule": "How the learning rate changes during training. One-cycle warms up then anneals: usually the "
                    "fastest to a good accuracy.",
    "cfg_batch_size": "Images per update. Small batches: many noisy steps per epoch; large batches: fewer, smoother "
                      "steps and faster epochs.",
    "cfg_epochs": "Passes over the training images. Watch the validation curve: when it stops improving, more "
                  "epochs only overfit.",
    "cfg_loss": "What the network is scored on. Cross-entropy suits classification; squared error is the textbook "
                "choice and learns more slowly.",
    "cfg_train_subset": "Train on only the first N images (0 = all). Few images make overfitting easy to see.",
    "cfg_val_split": "Fraction of the training images held out to watch overfitting: train accuracy far above "
                     "validation accuracy means the net memorises.",
    "cfg_seed": "Fixes the initial weights, the shuffling and the augmentation. Same seed, same settings: same run.",
    "cfg_device": "Where training runs. A CUDA GPU makes large nets and batches many times faster.",
    "cfg_engine": "PyTorch, or the from-scratch NumPy engine whose every gradient is written by hand (SGD, "
                  "ReLU/sigmoid only). Same maths, slower.",
    "cfg_output": "Function on the 10 outputs. None with cross-entropy is standard; sigmoid goes with squared error "
                  "or binary cross-entropy.",
    "cfg_init": "How the first weights are drawn. Glorot suits sigmoid/tanh, He suits ReLU; a bad scale shows as a "
                "flat start.",
    "cfg_dropout_where": "Dropout after every hidden layer, or only after the first one.",
    "cfg_leaky_slope": "LeakyReLU's slope for negative inputs: units never die completely.",
    "cfg_momentum": "How much of the previous update carries into the next (SGD + momentum only). 0.9 is the "
                    "classic value.",
    "cfg_weight_decay": "Pulls weights towards zero at every step: a brake on overfitting.",
    "cfg_step_epochs": "Step schedule: the learning rate drops every this many epochs.",
    "cfg_step_gamma": "Step schedule: the factor applied at each drop (0.1 = ten times smaller).",
    "cfg_label_smoothing": "Aim for 0.9 instead of 1.0 on the right class: a less over-confident net, often a "
                           "slightly better test accuracy.",
    "cfg_subset_mode": "How the training subset is drawn: the first N, a random N, or N balanced across classes.",
    "cfg_test_subset": "Score on only the first N test images (0 = all 10,000).",
    "cfg_val_mode": "Validation images taken from the end of the training set (as Keras does) or at random.",
    "cfg_standardize": "Shift and scale pixels to mean 0, standard deviation 1 (stored in the model). Helps SGD "
                       "on plain nets.",
    "aug_recipe": "Fill the augmentation sliders from a named recipe (the CLI's --augment).",
    "aug_rotation": "Each training image is turned by a random angle up to this many degrees, drawn per image.",
    "aug_translate": "Random shift up to this fraction of the side: the net stops relying on exact positions.",
    "aug_scale": "Random zoom in this range, drawn per image.",
    "aug_shear": "Random slant up to this many degrees: mimics handwriting styles.",
    "aug_hflip": "Mirror images left-right at random. Sensible for clothes (Fashion-MNIST), not for digits.",
    "aug_elastic_alpha": "Elastic distortion strength in pixels (Simard et al. 2003): wobbly strokes, the "
                         "augmentation behind the best MLP results.",
    "aug_elastic_sigma": "Smoothness of the elastic field: small sigma is jittery noise, large sigma gentle bends.",
    "aug_concat": "Each epoch sees every image twice: once as is, once transformed (the tutorials' recipe).",
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

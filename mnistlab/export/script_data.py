"""The data half of a generated training script: reading the IDX (or CSV) files, torchvision, augmentation."""

from __future__ import annotations

from textwrap import indent

from mnistlab.data.augment_spec import Augment
from mnistlab.data.datasets import DATASETS
from mnistlab.export.script_parts import code

TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}

READ_IDX = code('''
    FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


    def read_idx(path):
        """An IDX file (raw or .gz) as a uint8 tensor: images (N, 28, 28) or labels (N,)."""
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
            data = f.read()
        zero, kind, dims = struct.unpack(">HBB", data[:4])
        if zero != 0 or kind != 0x08:
            raise ValueError(f"{path} is not an IDX file of unsigned bytes")
        shape = struct.unpack(f">{dims}I", data[4:4 + 4 * dims])
        return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


    def find_idx(root):
        """The four IDX files in `root`, or in `root`/DATASET as mnistlab keeps them; None if they are not there."""
        for folder in (root, root / DATASET):
            paths = [next((p for p in (folder / s, folder / f"{s}.gz") if p.is_file()), None) for s in FILES]
            if all(paths):
                return paths
        return None
    ''')

READ_CSV = code('''
    def read_csv(path):
        """A CSV of 'label, 784 pixels 0-255' rows without a header, as `mnistlab data export --csv` writes it."""
        labels, pixels = [], bytearray()
        with open(path) as f:
            for line in f:
                label, *values = line.split(",")
                labels.append(int(label))
                pixels += bytes(map(int, values))
        return torch.frombuffer(pixels, dtype=torch.uint8).reshape(-1, 28, 28), torch.tensor(labels)
    ''')


def load(dataset: str) -> str:
    """The reader functions and `load_data(root)` for `dataset`: IDX files, then torchvision or CSV files."""
    head = code('''
        def load_data(root):
            """(train images, train labels, test images, test labels): uint8 (N, 28, 28) and int64 (N,) tensors."""
            root = Path(root)
            paths = find_idx(root)
            if paths is not None:
                train_images, train_labels, test_images, test_labels = map(read_idx, paths)
                return train_images, train_labels.long(), test_images, test_labels.long()
        ''')
    if dataset in DATASETS:
        return READ_IDX + "\n\n\n" + head + "\n" + indent(code(f'''
                from torchvision import datasets  # not there: torchvision downloads them into root/{TORCHVISION[dataset]}/raw

                train = datasets.{TORCHVISION[dataset]}(root, train=True, download=True)
                test = datasets.{TORCHVISION[dataset]}(root, train=False, download=True)
                return train.data, train.targets, test.data, test.targets
            '''), "    ")
    return READ_IDX + "\n\n\n" + READ_CSV + "\n\n\n" + head + "\n" + indent(code('''
            csvs = root / f"{DATASET}_train.csv", root / f"{DATASET}_test.csv"
            if all(p.is_file() for p in csvs):
                return (*read_csv(csvs[0]), *read_csv(csvs[1]))
            raise SystemExit(f"{root} holds neither the four IDX files of {DATASET} nor {DATASET}_train.csv and "
                             f"{DATASET}_test.csv: copy mnistlab's data/{DATASET} folder here, or run "
                             f"`python -m mnistlab data export {DATASET} --csv {root}`.")
        '''), "    ")


def augment(aug: Augment) -> str:
    """`AUGMENT` and `augment(x)`: the run's random transforms with torchvision, one image at a time."""
    steps = []
    if aug.affine:
        steps.append(f"v2.RandomAffine(degrees={aug.rotation!r}, translate=({aug.translate!r}, {aug.translate!r}), "
                     f"scale=({aug.scale_min!r}, {aug.scale_max!r}), shear={aug.shear!r}),")
    if aug.hflip:
        steps.append("v2.RandomHorizontalFlip(),")
    if aug.elastic_alpha:
        steps.append(f"v2.ElasticTransform(alpha={aug.elastic_alpha!r}, sigma={aug.elastic_sigma!r}),")
    listed = "\n".join("    " + step for step in steps)
    return (f"# The run's augmentation, drawn afresh for every image (pixels pulled from outside are black).\n"
            f"AUGMENT = v2.Compose([\n{listed}\n])\n\n\n" + code('''
                def augment(x):
                    """A random transform of each image of the batch x (B, 28, 28), one image at a time."""
                    return torch.stack([AUGMENT(image[None])[0] for image in x])
                '''))

"""Your own data: import a CSV, IDX pair, .npz or folder of class folders as a dataset; list, remove, export.

Imported images become 28×28 grey (luminance, then resized keeping the aspect ratio and padded with the
background) and every change is recorded in the dataset's manifest. Limits (`mnistlab.ingest.limits`):
1 GiB per input file on disk and once decompressed, 1,000,000 images per dataset, image sides up to 256 px
in CSV/IDX/.npz (image files: 4096 px and 10 MiB each), 2 to 62 classes. Without a test set, a stratified
1/6 of the training images is held out with seed 0.
"""

from mnistlab.ingest.catalog import ListedDataset, list_datasets
from mnistlab.ingest.export import export_csv
from mnistlab.ingest.importer import DEFAULT_TEST_FRACTION, ImportReport, import_dataset
from mnistlab.ingest.store import clean_leftovers, remove_dataset

__all__ = ["DEFAULT_TEST_FRACTION", "ImportReport", "ListedDataset", "clean_leftovers", "export_csv",
           "import_dataset", "list_datasets", "remove_dataset"]

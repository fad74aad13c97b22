"""`predict --csv test.csv --out submission.csv`: Kaggle's ImageId,Label file from an unlabelled CSV."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from mnistlab.cli.main import main
from mnistlab.data.load import load_split
from mnistlab.errors import DataError
from mnistlab.predict import predict_image
from mnistlab.runs.store import RunStore
from mnistlab.submission import write_submission

HEADER = ",".join(f"pixel{i}" for i in range(784))


@pytest.fixture(scope="module")
def trained(tiny_data_dir, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "--preset", "fast", "--hidden", "32", "--epochs", "1", "--data-dir", str(tiny_data_dir),
                 "--runs-dir", str(runs)]) == 0
    (info,) = RunStore(runs).list()
    return runs, info.run_id


def write_test_csv(path, images, header=True):
    rows = [",".join(map(str, image.reshape(-1))) for image in images]
    path.write_text("\n".join(([HEADER] if header else []) + rows) + "\n")
    return path


@pytest.mark.parametrize("header", [True, False])
def test_every_row_gets_the_models_prediction_in_kaggles_format(trained, tiny_data_dir, tmp_path, capsys, header):
    runs, run_id = trained
    images = load_split("mnist", "test", tiny_data_dir).images[:37].numpy()
    source = write_test_csv(tmp_path / "test.csv", images, header)
    out = tmp_path / "submission.csv"
    assert main(["predict", "--run", run_id, "--csv", str(source), "--out", str(out), "--runs-dir", str(runs),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    with open(out, newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["ImageId", "Label"] and len(table) == 38 and report["rows"] == 37
    assert report["header"] is header
    model, classes = RunStore(runs).open(run_id).model(device="cpu"), RunStore(runs).open(run_id).classes
    expected = [predict_image(model, image, classes).class_name for image in images]
    assert [row[1] for row in table[1:]] == expected and [row[0] for row in table[1:]] == [str(i) for i in
                                                                                           range(1, 38)]
    assert sum(report["counts"].values()) == 37


@pytest.mark.parametrize("text, message", [
    (f"{HEADER}\n" + ",".join(["0"] * 783) + "\n", r"line 2 has 783 values; every row must hold the 784 pixel"),
    ("7," + ",".join(["0"] * 784) + "\n", r"line 1 has 785 values; .* \(a label column first\?"),
    (",".join(["0"] * 783 + ["x"]) + "\n", r"line 1: column 784 holds 'x'; pixel values must be whole numbers"),
    (",".join(["0"] * 10 + ["300"] + ["0"] * 773) + "\n", r"line 1: pixel value 300 in column 11 is outside 0–255"),
    (f"{HEADER}\n\n", r"holds no image rows"),
])
def test_a_bad_csv_is_one_sentence_and_writes_no_submission(trained, tmp_path, capsys, text, message):
    runs, run_id = trained
    source, out = tmp_path / "bad.csv", tmp_path / "submission.csv"
    source.write_text(text)
    with pytest.raises(DataError, match=message):
        write_submission(RunStore(runs), run_id, source, out)
    assert main(["predict", "--run", run_id, "--csv", str(source), "--out", str(out), "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(source) in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]  # no submission, no .part left behind


def test_csv_needs_out_and_excludes_an_image(trained, tmp_path, capsys):
    runs, run_id = trained
    source = write_test_csv(tmp_path / "t.csv", np.zeros((2, 28, 28), np.uint8))
    assert main(["predict", "--run", run_id, "--csv", str(source), "--runs-dir", str(runs)]) == 2
    assert "--csv needs --out FILE" in capsys.readouterr().err
    assert main(["predict", "--run", run_id, "x.png", "--csv", str(source), "--out", "o.csv",
                 "--runs-dir", str(runs)]) == 2
    assert "not both" in capsys.readouterr().err


def test_results_page_writes_the_same_submission(env, tiny_data_dir, tmp_path, app_caches):
    from test_app import app, stored_run

    data_dir, runs = env
    run_id = stored_run(runs, data_dir)
    images = load_split("mnist", "test", tiny_data_dir).images[:12].numpy()
    source = write_test_csv(tmp_path / "test.csv", images)
    at = app("results")
    at.file_uploader(key="submission_csv").set_value(("test.csv", source.read_bytes(), "text/csv")).run()
    assert not at.exception, at.exception
    assert "Predicted 12 images." in [s.value for s in at.success]
    cli_out = tmp_path / "cli.csv"
    write_submission(RunStore(runs), run_id, source, cli_out)
    assert [b for b in at.get("download_button") if b.proto.id.endswith("-dl_submission")]
    offered = at.session_state["submission_result"][2]  # what the download button hands the browser
    assert offered == cli_out.read_text() and offered.count("\n") == 13
    bad = b"1,2,3\n"
    at.file_uploader(key="submission_csv").set_value(("bad.csv", bad, "text/csv")).run()
    assert "bad.csv: line 1 has 3 values" in " ".join(e.value for e in at.error)

"""Evaluate the trained model on the test split; writes evaluation.json (mean squared error)."""

from __future__ import annotations

import json
import pathlib
import pickle
import tarfile

import numpy as np
import pandas as pd
import xgboost

if __name__ == "__main__":
    with tarfile.open("/opt/ml/processing/model/model.tar.gz") as archive:
        archive.extractall(path=".")
    with open("xgboost-model", "rb") as file:
        model = pickle.load(file)
    test = pd.read_csv("/opt/ml/processing/test/test.csv", header=None)
    labels = test.iloc[:, 0].to_numpy()
    predictions = model.predict(xgboost.DMatrix(test.iloc[:, 1:].to_numpy()))
    mse = float(np.mean((labels - predictions) ** 2))
    report = {
        "regression_metrics": {
            "mse": {"value": mse, "standard_deviation": float(np.std(labels - predictions))}
        }
    }
    folder = pathlib.Path("/opt/ml/processing/evaluation")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evaluation.json").write_text(json.dumps(report))

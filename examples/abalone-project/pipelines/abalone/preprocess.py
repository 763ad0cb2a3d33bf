"""Feature engineering for the abalone data: one-hot sex, scale, split 70/15/15."""

from __future__ import annotations

import argparse
import pathlib

import numpy as np
import pandas as pd

COLUMNS = ["sex", "length", "diameter", "height", "whole_weight", "shucked_weight",
           "viscera_weight", "shell_weight", "rings"]  # fmt: skip

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--input-data", required=True)
    args = parser.parse_args()
    frame = pd.read_csv(args.input_data, header=None, names=COLUMNS)
    frame = pd.get_dummies(frame, columns=["sex"], dtype=float)
    features = [column for column in frame.columns if column != "rings"]
    frame[features] = (frame[features] - frame[features].mean()) / frame[features].std()
    data = np.concatenate([frame[["rings"]].to_numpy(), frame[features].to_numpy()], axis=1)
    np.random.default_rng(0).shuffle(data)
    train, validation, test = np.split(data, [int(0.7 * len(data)), int(0.85 * len(data))])
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        folder = pathlib.Path(f"/opt/ml/processing/{name}")
        folder.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(part).to_csv(folder / f"{name}.csv", header=False, index=False)

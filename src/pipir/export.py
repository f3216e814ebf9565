"""ONNX export with dynamic batch, height and width; the prompt weights are an input."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from pipir.infer import Restorer
from pipir.io import atomic_write
from pipir.models.pip import task_weights


def export_onnx(restorer: Restorer, path: str | Path, opset: int = 17) -> list[Path]:
    """Write the restorer to ``path`` (inputs ``image`` B×3×H×W in [0, 1] and, for PIP models,
    ``weights`` B×K) and its classifier, if any, to ``<path stem>.sensor.onnx`` (input ``image``,
    output ``logits``). Returns the files written."""
    path = Path(path)
    model = restorer.model  # traced where it is: the restorer keeps its device
    image = torch.rand(1, 3, 64, 64, device=next(model.parameters()).device)
    written = []
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks
        if restorer.uses_prompts:
            args, names, dynamic = (
                (image, task_weights(0).to(image.device)),
                ["image", "weights"],
                {"image": axes, "weights": {0: "batch"}},
            )
        else:
            args, names, dynamic = (image,), ["image"], {"image": axes}

        def write_model(tmp: Path) -> None:
            torch.onnx.export(
                model,
                args,
                str(tmp),
                input_names=names,
                output_names=["restored"],
                dynamic_axes={**dynamic, "restored": axes},
                opset_version=opset,
                dynamo=False,
            )

        written.append(atomic_write(path, write_model))
        if restorer.sensor is not None:
            sensor = restorer.sensor

            def write_sensor(tmp: Path) -> None:
                torch.onnx.export(
                    sensor,
                    (image.to(next(sensor.parameters()).device),),
                    str(tmp),
                    input_names=["image"],
                    output_names=["logits"],
                    dynamic_axes={"image": axes, "logits": {0: "batch"}},
                    opset_version=opset,
                    dynamo=False,
                )

            written.append(atomic_write(path.with_name(path.stem + ".sensor.onnx"), write_sensor))
    return written

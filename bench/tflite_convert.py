"""Step 3 of TensorFlow's own route: TFLite's converter with weight
quantization, or (given a calibration .npy) full-integer int8 calibrated on
its samples, one at a time, as a representative dataset.

Usage: python bench/tflite_convert.py <graph.pb> <inputs> <outputs> <input shape> <out.tflite> [calibration.npy]
(inputs/outputs comma-separated; shape like 1,64,64,3). Run as its own process
(by bench/convert.py and bench/tflite_models.py) so its time and memory are
measured alone.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402


def main():
    graph, inputs, outputs, shape, output = sys.argv[1:6]
    dims = [int(d) for d in shape.split(",")]
    converter = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
        graph, inputs.split(","), outputs.split(","), {name: dims for name in inputs.split(",")}
    )
    converter.optimizations = [tf.lite.Optimize.DEFAULT]  # dynamic-range: 8-bit weights
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    if len(sys.argv) > 6:
        import numpy as np

        samples = np.load(sys.argv[6])
        converter.representative_dataset = lambda: ([samples[i : i + 1]] for i in range(len(samples)))
    with open(output, "wb") as f:
        f.write(converter.convert())


if __name__ == "__main__":
    main()

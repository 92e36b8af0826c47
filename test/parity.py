"""Parity with real TensorFlow: our frozen graphs, loaded and run by
TensorFlow, must give the outputs TensorFlow computed from the original
graph (stored in fixtures/), and hold no more nodes than TensorFlow's own
frozen graph.

Run by `npm test` through test/run-parity.js. When TensorFlow cannot be
imported the whole suite reports itself as skipped (and exits 0); CI installs
tensorflow-cpu so that it runs there.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures")
CLI = os.path.join(ROOT, "bin", "tfmodel.js")

try:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf
except ImportError as error:  # pragma: no cover - depends on the machine
    print(f"parity: skipped (tensorflow is not importable: {error})")
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(0)


def to_numpy(value):
    """A fixture JSON tensor as a numpy array."""
    dtype, shape, data = value["dtype"], value["shape"], value["data"]
    if dtype == "string":
        return np.array([base64.b64decode(s) for s in data], dtype=object).reshape(shape)
    if dtype == "bfloat16":
        import ml_dtypes

        np_dtype = ml_dtypes.bfloat16
    else:
        np_dtype = np.dtype({"bool": "bool"}.get(dtype, dtype))
    return np.frombuffer(base64.b64decode(data), dtype=np_dtype).reshape(shape)


def load_json(fixture_dir, name):
    with open(os.path.join(fixture_dir, name)) as f:
        return json.load(f)


def run_cli(*args):
    result = subprocess.run(["node", CLI, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"tfmodel {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


TABLE_INITIALIZERS = ("LookupTableImportV2", "LookupTableImport", "InitializeTableV2", "InitializeTable")


def run_graph(graph_def, inputs, outputs):
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        # What tables_initializer() runs: the ops that fill lookup tables.
        initializers = [n.name for n in graph_def.node if n.op in TABLE_INITIALIZERS]
        if initializers:
            session.run([graph.get_operation_by_name(name) for name in initializers])
        feed = {f"{name}:0": value for name, value in inputs.items()}
        fetched = session.run([f"{name}:0" for name in outputs], feed_dict=feed)
    return dict(zip(outputs, fetched))


def read_graph(path):
    graph_def = tf.compat.v1.GraphDef()
    with open(path, "rb") as f:
        graph_def.ParseFromString(f.read())
    return graph_def


def freeze_args(fixture_dir, spec, checkpoint=None):
    args = ["freeze"]
    if spec.get("meta") and not checkpoint:
        args += ["--input_meta_graph", os.path.join(fixture_dir, spec["meta"])]
    elif spec.get("graph"):
        args += ["--input_graph", os.path.join(fixture_dir, spec["graph"])]
    if spec.get("checkpoint"):
        args += ["--input_checkpoint", os.path.join(fixture_dir, checkpoint or spec["checkpoint"])]
    args += ["--output_node_names", ",".join(spec["output_node_names"])]
    return args


def check_outputs(actual, expected_io, label):
    for name, expected in expected_io["outputs"].items():
        want = to_numpy(expected)
        got = actual[name]
        assert got.shape == want.shape, f"{label}: {name} has shape {got.shape}, TensorFlow gave {want.shape}"
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{label}: output {name}")


def parity_cases():
    manifest = load_json(FIXTURES, "manifest.json")
    for name, spec in manifest["fixtures"].items():
        if not spec.get("io") or not spec.get("output_node_names"):
            continue
        fixture_dir = os.path.join(FIXTURES, name)
        yield f"{name}: frozen graph gives TensorFlow's outputs", lambda d=fixture_dir, s=spec: frozen_matches(d, s)
        for step, io_name in sorted((spec.get("io_steps") or {}).items()):
            prefix = spec["checkpoint"].rsplit("-", 1)[0] + f"-{step}"
            yield (
                f"{name}: step {step} freezes to that step's outputs",
                lambda d=fixture_dir, s=spec, p=prefix, io=io_name: frozen_matches(d, s, checkpoint=p, io_name=io),
            )
        for extra in ("io_else", "heldout"):
            if spec.get(extra):
                yield (
                    f"{name}: frozen graph gives TensorFlow's outputs on {spec[extra]}",
                    lambda d=fixture_dir, s=spec, io=spec[extra]: frozen_matches(d, s, io_name=io),
                )
        if spec.get("graph_text"):
            yield f"{name}: text graph freezes like the binary one", lambda d=fixture_dir, s=spec: text_graph_matches(d, s)
        yield f"{name}: optimized graph gives TensorFlow's outputs", lambda d=fixture_dir, s=spec: optimized_matches(d, s)
        if spec.get("frozen"):
            yield f"{name}: tfmodel optimize on TensorFlow's frozen graph", lambda d=fixture_dir, s=spec: optimize_cli_matches(d, s)
        for mode in ("uint8", "int8", "float16"):
            if spec.get("heldout"):
                yield f"{name}: {mode} .pb keeps held-out accuracy", lambda d=fixture_dir, s=spec, m=mode: classifier_accuracy_kept(d, s, m)
            if spec.get("images"):
                yield f"{name}: {mode} .pb keeps top detections", lambda d=fixture_dir, s=spec, m=mode: detections_kept(d, s, m)


TRAINING = os.path.join(FIXTURES, "training")


def training_cases():
    """Real training scripts' directories, converted and frozen with no
    outputs named: TensorFlow runs what we wrote to its stored outputs."""
    with open(os.path.join(ROOT, "test", "training-unsupported.json")) as f:
        unsupported = json.load(f)
    for name, spec in load_json(TRAINING, "manifest.json")["fixtures"].items():
        if "pb" in unsupported.get(name, {}).get("formats", []) or spec.get("error"):
            continue
        fixture_dir = os.path.join(TRAINING, name)
        yield f"training/{name}: convert --format pb infers the outputs and gives TensorFlow's", (
            lambda d=fixture_dir, s=spec: training_pb_matches(d, s)
        )
        yield f"training/{name}: freeze infers the outputs and gives TensorFlow's", (
            lambda d=fixture_dir, s=spec: training_frozen_matches(d, s)
        )


def training_pb_matches(fixture_dir, spec):
    with tempfile.TemporaryDirectory() as tmp:
        run_cli("convert", os.path.join(fixture_dir, spec["source"]), tmp, "--format", "pb")
        graph = read_graph(os.path.join(tmp, "model.pb"))
    placeholders = sorted(n.name for n in graph.node if n.op == "Placeholder")
    assert placeholders == sorted(spec["inputs"]), f"inputs {placeholders}, want {spec['inputs']}"
    for io_name in spec["io"]:
        io = load_json(fixture_dir, io_name)
        inputs = {k: to_numpy(v) for k, v in io["inputs"].items()}
        actual = run_graph(graph, inputs, spec["outputs"])
        for output in spec["outputs"]:
            np.testing.assert_allclose(
                actual[output], to_numpy(io["outputs"][output]), rtol=1e-4, atol=1e-5, err_msg=f"{io_name}: {output}"
            )


def training_frozen_matches(fixture_dir, spec):
    """freeze_graph's job alone: the training switches stay placeholders, fed as TensorFlow was."""
    with tempfile.TemporaryDirectory() as tmp:
        output = os.path.join(tmp, "frozen.pb")
        printed = run_cli("freeze", "--input_checkpoint", os.path.join(fixture_dir, spec["source"]), "--output_graph", output)
        graph = read_graph(output)
    for line in [f"  {o} (" for o in spec["outputs"]]:
        assert line in printed, f"freeze did not report the inferred output {line.strip()}:\n{printed}"
    fixed = {k: np.array(v, dtype=bool if isinstance(v, bool) else np.float32) for k, v in spec["fixed"].items()}
    for io_name in spec["io"]:
        io = load_json(fixture_dir, io_name)
        inputs = {k: to_numpy(v) for k, v in io["inputs"].items()}
        actual = run_graph(graph, {**inputs, **fixed}, spec["outputs"])
        for output in spec["outputs"]:
            np.testing.assert_allclose(
                actual[output], to_numpy(io["outputs"][output]), rtol=1e-5, atol=1e-6, err_msg=f"{io_name}: {output}"
            )


def frozen_matches(fixture_dir, spec, checkpoint=None, io_name=None):
    io = load_json(fixture_dir, io_name or spec["io"])
    with tempfile.TemporaryDirectory() as tmp:
        output = os.path.join(tmp, "frozen.pb")
        run_cli(*freeze_args(fixture_dir, spec, checkpoint), "--output_graph", output)
        ours = read_graph(output)
    inputs = {name: to_numpy(value) for name, value in io["inputs"].items()}
    check_outputs(run_graph(ours, inputs, list(io["outputs"])), io, os.path.basename(fixture_dir))
    if spec.get("frozen") and checkpoint is None and io_name is None:
        theirs = read_graph(os.path.join(fixture_dir, spec["frozen"]))
        assert len(ours.node) <= len(theirs.node), (
            f"our frozen graph has {len(ours.node)} nodes, TensorFlow's {len(theirs.node)}"
        )
        for node in ours.node:
            assert node.op not in ("VariableV2", "VarHandleOp", "ReadVariableOp", "Assign", "SaveV2"), (
                f"{node.name} ({node.op}) is left in the frozen graph"
            )


FOLDABLE_BATCH_NORMS = ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3", "BatchNormWithGlobalNormalization")


def source_of(fixture_dir, spec):
    return os.path.join(fixture_dir, spec["checkpoint"] or spec["graph"])


def convert_to_pb(fixture_dir, spec, tmp, quantize=None):
    args = ["convert", source_of(fixture_dir, spec), tmp, "--format", "pb", "--output_node_names", ",".join(spec["output_node_names"])]
    if spec.get("graph") and not spec.get("meta"):
        args += ["--input_graph", os.path.join(fixture_dir, spec["graph"])]
    if quantize:
        args += ["--quantize", quantize]
    run_cli(*args)
    return read_graph(os.path.join(tmp, "model.pb"))


def optimized_matches(fixture_dir, spec):
    """Our whole pipeline to a .pb (freeze + optimize), run by TensorFlow."""
    io = load_json(fixture_dir, spec["io"])
    with tempfile.TemporaryDirectory() as tmp:
        ours = convert_to_pb(fixture_dir, spec, tmp)
    ops = {node.op for node in ours.node}
    assert not ops & set(FOLDABLE_BATCH_NORMS), f"batch norms left: {ops & set(FOLDABLE_BATCH_NORMS)}"
    inputs = {name: to_numpy(value) for name, value in io["inputs"].items()}
    actual = run_graph(ours, inputs, list(io["outputs"]))
    for name, expected in io["outputs"].items():
        np.testing.assert_allclose(actual[name], to_numpy(expected), rtol=1e-4, atol=1e-5, err_msg=f"optimized: {name}")


def optimize_cli_matches(fixture_dir, spec):
    """`tfmodel optimize` on TensorFlow's own frozen graph, run by TensorFlow."""
    io = load_json(fixture_dir, spec["io"])
    with tempfile.TemporaryDirectory() as tmp:
        output = os.path.join(tmp, "optimized.pb")
        run_cli(
            "optimize", "--input", os.path.join(fixture_dir, spec["frozen"]), "--output", output,
            "--input_names", ",".join(io["inputs"]), "--output_names", ",".join(spec["output_node_names"]),
        )
        ours = read_graph(output)
    theirs = read_graph(os.path.join(fixture_dir, spec["frozen"]))
    assert len(ours.node) <= len(theirs.node), f"optimized has {len(ours.node)} nodes, frozen {len(theirs.node)}"
    inputs = {name: to_numpy(value) for name, value in io["inputs"].items()}
    actual = run_graph(ours, inputs, list(io["outputs"]))
    for name, expected in io["outputs"].items():
        np.testing.assert_allclose(actual[name], to_numpy(expected), rtol=1e-4, atol=1e-5, err_msg=f"optimize: {name}")


def classifier_accuracy_kept(fixture_dir, spec, mode):
    heldout = load_json(fixture_dir, spec["heldout"])
    with tempfile.TemporaryDirectory() as tmp:
        graph = convert_to_pb(fixture_dir, spec, tmp, quantize=mode)
    assert any(n.op in ("Dequantize", "Cast") for n in graph.node), "no dequantize nodes"
    inputs = {name: to_numpy(value) for name, value in heldout["inputs"].items()}
    probs = run_graph(graph, inputs, ["probs"])["probs"]
    labels = to_numpy(heldout["labels"])
    accuracy = float(np.mean(np.argmax(probs, axis=1) == labels))
    assert accuracy >= heldout["accuracy"] - 0.01, f"{mode}: accuracy {accuracy} vs TensorFlow's {heldout['accuracy']}"


def detections_kept(fixture_dir, spec, mode):
    images = load_json(fixture_dir, spec["images"])
    with tempfile.TemporaryDirectory() as tmp:
        graph = convert_to_pb(fixture_dir, spec, tmp, quantize=mode)
    names = ["detection_boxes", "detection_scores", "detection_classes", "num_detections"]
    for index, image in enumerate(images):
        ours = run_graph(graph, {"image_tensor": to_numpy(image["input"])}, names)
        boxes, scores, classes = (to_numpy(image["outputs"][n])[0] for n in names[:3])
        count = int(to_numpy(image["outputs"]["num_detections"])[0])
        for d in range(count):
            if scores[d] < 0.5:
                continue
            found = any(
                ours["detection_classes"][0][k] == classes[d] and iou(ours["detection_boxes"][0][k], boxes[d]) >= 0.9
                for k in range(int(ours["num_detections"][0]))
            )
            assert found, f"{mode}: image {index} lost detection {d} (class {classes[d]})"


def iou(a, b):
    ih = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def text_graph_matches(fixture_dir, spec):
    text_spec = dict(spec, graph=spec["graph_text"], meta=None)
    frozen_matches(fixture_dir, text_spec)


def main():
    passed = failed = 0
    for label, case in [*parity_cases(), *training_cases()]:
        try:
            case()
            passed += 1
            print(f"  ok   {label}")
        except Exception:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print(f"  FAIL {label}")
            traceback.print_exc()
    print(f"parity: {passed} passed, {failed} failed")
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()

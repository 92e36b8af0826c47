"""Parity with real TensorFlow: our frozen graphs, loaded and run by
TensorFlow, must give the outputs TensorFlow computed from the original
graph (stored in fixtures/), and hold no more nodes than TensorFlow's own
frozen graph.

Run by `npm test` through test/run-parity.js. When TensorFlow cannot be
imported the whole suite reports itself as skipped (and exits 0); CI installs
tensorflow-cpu so that it runs there.
"""

import base64
import collections
import functools
import json
import os
import subprocess
import sys
import tempfile
import traceback
import warnings

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
        for mode in ("uint8", "int8", "float16", *GRAPH_MODES):
            if spec.get("heldout"):
                yield f"{name}: {mode} .pb keeps held-out accuracy", lambda d=fixture_dir, s=spec, m=mode: classifier_accuracy_kept(d, s, m)
            if spec.get("images"):
                yield f"{name}: {mode} .pb keeps top detections", lambda d=fixture_dir, s=spec, m=mode: detections_kept(d, s, m)
        if spec.get("heldout") and spec.get("frozen"):
            yield (
                f"{name}: tfmodel optimize, then quantize --mode eightbit, of TensorFlow's frozen graph keeps held-out accuracy",
                lambda d=fixture_dir, s=spec: eightbit_of_tensorflows_frozen_graph_kept(d, s),
            )
        if spec.get("frozen") and (spec.get("heldout") or spec.get("images")):
            yield (
                f"{name}: quantize --mode eightbit of TensorFlow's frozen graph as it is (weights read through */read) "
                "stores the weights in 8 bits and keeps "
                + ("held-out accuracy (within 0.1: its batch norms are not folded)" if spec.get("heldout") else "top detections"),
                lambda d=fixture_dir, s=spec: eightbit_of_unoptimized_frozen_graph_kept(d, s),
            )
        if spec.get("frozen") and "Enter" in spec.get("frozen_op_types", ()):
            yield (
                f"{name}: quantize --mode eightbit of TensorFlow's frozen graph, its while loop left float, gives TensorFlow's outputs",
                lambda d=fixture_dir, s=spec: eightbit_of_tensorflows_loop_matches(d, s),
            )
    yield (
        "eightbit: a tf.cond branch's MatMul runs on QuantizedMatMul, a while loop's stays float, in TensorFlow",
        eightbit_loop_and_cond_match,
    )


TRAINING = os.path.join(FIXTURES, "training")


def training_cases():
    """Real training scripts' directories, converted and frozen with no
    outputs named: TensorFlow runs what we wrote to its stored outputs."""
    for name, spec in load_json(TRAINING, "manifest.json")["fixtures"].items():
        if spec.get("error"):
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


# `tfmodel quantize --format pb` modes that rewrite a float frozen graph:
# TensorFlow's quantized kernels, and float32 weights rounded to 8 bits.
GRAPH_MODES = ("eightbit", "weights_rounded")
# What an eightbit graph of these fixtures (conv, bias, relu6, matmul) must run.
EIGHTBIT_KERNELS = ("QuantizedConv2D", "QuantizedBiasAdd", "QuantizedRelu6", "RequantizationRange", "Requantize")


def quantized_pb(fixture_dir, spec, tmp, mode, frozen=None):
    """Our .pb in `mode`: `convert --quantize` for weight encodings, or
    `tfmodel quantize --mode` of a float frozen graph (ours unless `frozen`
    names TensorFlow's) for the graph modes, with each mode's ops checked."""
    if mode not in GRAPH_MODES:
        graph = convert_to_pb(fixture_dir, spec, tmp, quantize=mode)
        assert any(n.op in ("Dequantize", "Cast") for n in graph.node), "no dequantize nodes"
        return graph
    if frozen is None:
        convert_to_pb(fixture_dir, spec, tmp)
        frozen = os.path.join(tmp, "model.pb")
    output = os.path.join(tmp, f"{mode}.pb")
    run_cli("quantize", "--input", frozen, "--output", output, "--mode", mode, "--output_node_names", ",".join(spec["output_node_names"]))
    graph = read_graph(output)
    ops = collections.Counter(n.op for n in graph.node)
    if mode == "eightbit":
        missing = [op for op in EIGHTBIT_KERNELS if not ops[op]]
        assert not missing, f"eightbit graph lacks {missing}: {dict(ops)}"
        by_name = {n.name: n for n in graph.node}
        for node in graph.node:
            if node.op == "QuantizeV2":
                source = by_name[node.input[0].split(":")[0]]
                assert source.op != "Dequantize", f"{node.name} quantizes {source.name}, which a kernel already had in 8 bits"
        assert_weights_quantized(graph)
        before, after = constant_bytes(read_graph(frozen)), constant_bytes(graph)
        assert after < 0.5 * before, f"eightbit constants take {after} bytes, the float graph's {before}"
    else:
        assert not ops["Dequantize"] and graph.ByteSize() > 0, f"weights_rounded holds Dequantize nodes: {dict(ops)}"
        float_graph = read_graph(frozen)
        assert len(graph.node) == len(float_graph.node), "weights_rounded changes values, not nodes"
    return graph


def eightbit_of_tensorflows_frozen_graph_kept(fixture_dir, spec):
    """quantize_graph's documented chain: freeze_graph's output through
    optimize_for_inference (batch norms folded), then eightbit."""
    with tempfile.TemporaryDirectory() as tmp:
        optimized = os.path.join(tmp, "optimized.pb")
        run_cli(
            "optimize", "--input", os.path.join(fixture_dir, spec["frozen"]), "--output", optimized,
            "--input_names", ",".join(spec["input_names"]), "--output_names", ",".join(spec["output_node_names"]),
        )
        classifier_accuracy_kept(fixture_dir, spec, "eightbit", frozen=optimized)


def eightbit_of_unoptimized_frozen_graph_kept(fixture_dir, spec):
    """freeze_graph's output straight into eightbit, no optimize: every weight
    is read as Const -> Identity (*/read) -> op, and must still be quantized
    (quantized_pb checks that no kernel reads a float weight and that the
    constants take under half the bytes). The convnet's batch norms are not
    folded here, so its conv outputs are 8-bit before the batch norms scale
    their error up: 123 of its 128 held-out images stay right (quantizing the
    weights at run time gives the same), hence the wider margin."""
    frozen = os.path.join(fixture_dir, spec["frozen"])
    if spec.get("heldout"):
        classifier_accuracy_kept(fixture_dir, spec, "eightbit", frozen=frozen, margin=0.1)
    else:
        detections_kept(fixture_dir, spec, "eightbit", frozen=frozen)


def constant_bytes(graph):
    """Bytes of the float32 and quint8 Const values."""
    dtypes = (tf.float32.as_datatype_enum, tf.quint8.as_datatype_enum)
    values = (tf.make_ndarray(n.attr["value"].tensor) for n in graph.node if n.op == "Const" and n.attr["dtype"].type in dtypes)
    return sum(value.nbytes for value in values)


def assert_weights_quantized(graph):
    """No quantized kernel reads a float32 Const of more than one element,
    neither directly nor through Identities and a run-time QuantizeV2: the
    weights are stored as quint8, only the min and max scalars are float."""
    by_name = {n.name: n for n in graph.node}
    for node in graph.node:
        if not node.op.startswith("Quantized"):
            continue
        for name in node.input:
            if name.startswith("^"):
                continue
            source = by_name[name.split(":")[0]]
            if source.op == "QuantizeV2":
                source = by_name[source.input[0].split(":")[0]]
            while source.op == "Identity" and len(source.input) == 1:
                source = by_name[source.input[0].split(":")[0]]
            if source.op != "Const" or source.attr["dtype"].type != tf.float32.as_datatype_enum:
                continue
            size = tf.make_ndarray(source.attr["value"].tensor).size
            assert size <= 1, f"{node.name} ({node.op}) reads float32 Const {source.name} of {size} elements"


def assert_close_in_8_bits(actual, expected, label):
    """Within 3% of the output's largest magnitude: a few 8-bit steps."""
    for name, want in expected.items():
        got = actual[name]
        assert got.shape == want.shape, f"{label}: {name} has shape {got.shape}, TensorFlow gave {want.shape}"
        atol = 0.03 * float(np.max(np.abs(want))) + 1e-6
        np.testing.assert_allclose(got, want, rtol=0, atol=atol, err_msg=f"{label}: output {name}")


def eightbit_pb(frozen, tmp, outputs):
    """`tfmodel quantize --mode eightbit` of the frozen graph file `frozen`."""
    output = os.path.join(tmp, "eightbit.pb")
    run_cli("quantize", "--input", frozen, "--output", output, "--mode", "eightbit", "--output_node_names", ",".join(outputs))
    return read_graph(output)


def eightbit_of_tensorflows_loop_matches(fixture_dir, spec):
    """A v1 while loop's ops stay float (their kernels' constants and
    QuantizeV2s would be outside the loop's frame, which TensorFlow refuses
    with "inputs from different frames"): the graph runs, on both cond branches."""
    with tempfile.TemporaryDirectory() as tmp:
        graph = eightbit_pb(os.path.join(fixture_dir, spec["frozen"]), tmp, spec["output_node_names"])
    frames = loop_frame_nodes(graph)
    quantized = sorted(n.name for n in graph.node if n.name in frames and n.op.startswith("Quantize"))
    assert not quantized, f"quantized ops inside the while loop: {quantized}"
    for io_name in filter(None, (spec["io"], spec.get("io_else"))):
        io = load_json(fixture_dir, io_name)
        inputs = {name: to_numpy(value) for name, value in io["inputs"].items()}
        expected = {name: to_numpy(value) for name, value in io["outputs"].items()}
        assert_close_in_8_bits(run_graph(graph, inputs, list(expected)), expected, f"eightbit {io_name}")


def loop_frame_nodes(graph):
    """Names of the nodes inside a v1 while loop: reached from an Enter without passing an Exit."""
    consumers = collections.defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name.lstrip("^").split(":")[0]].append(node)
    inside = set()
    stack = [n for n in graph.node if n.op in ("Enter", "RefEnter")]
    while stack:
        node = stack.pop()
        if node.name in inside or node.op in ("Exit", "RefExit"):
            continue
        inside.add(node.name)
        stack.extend(consumers[node.name])
    return inside


def loop_and_cond_graph():
    """x [4, 8] -> a v1 while_loop of 3 steps, h = tanh(h @ w_loop) (w_loop
    entered into the frame), then a v1 cond on mean(x) > 0: relu(h @ w_then),
    w_then a constant made in the branch (under its pivot), else h - 1."""
    from tensorflow.python.ops import control_flow_util

    was_v2 = control_flow_util.ENABLE_CONTROL_FLOW_V2
    tf.compat.v1.disable_control_flow_v2()
    try:
        rng = np.random.default_rng(7)
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [4, 8], name="x")
            w_loop = tf.constant(rng.normal(0, 0.4, (8, 8)).astype(np.float32), name="w_loop")
            _, h = tf.compat.v1.while_loop(
                lambda i, h: i < 3, lambda i, h: (i + 1, tf.tanh(tf.matmul(h, w_loop))), [tf.constant(0), x]
            )

            def then():
                w_then = tf.constant(rng.normal(0, 0.4, (8, 8)).astype(np.float32), name="w_then")
                return tf.nn.relu(tf.matmul(h, w_then))

            tf.identity(tf.compat.v1.cond(tf.reduce_mean(x) > 0, then, lambda: h - 1.0), name="y")
        return graph.as_graph_def()
    finally:
        if was_v2:
            tf.compat.v1.enable_control_flow_v2()


def eightbit_loop_and_cond_match():
    float_graph = loop_and_cond_graph()
    with tempfile.TemporaryDirectory() as tmp:
        frozen = os.path.join(tmp, "frozen.pb")
        with open(frozen, "wb") as f:
            f.write(float_graph.SerializeToString())
        graph = eightbit_pb(frozen, tmp, ["y"])
    by_name = {n.name: n for n in graph.node}
    assert by_name["while/MatMul"].op == "MatMul", f"while/MatMul became {by_name['while/MatMul'].op}"
    kernels = [n for n in graph.node if n.op == "QuantizedMatMul"]
    assert [n.name for n in kernels] == ["cond/MatMul_eightbit_quantized"], [n.name for n in kernels]
    assert_weights_quantized(graph)
    rng = np.random.default_rng(8)
    for sign in (1.0, -1.0):
        x = (sign * np.abs(rng.normal(0.5, 0.5, (4, 8)))).astype(np.float32)
        expected = run_graph(float_graph, {"x": x}, ["y"])
        assert_close_in_8_bits(run_graph(graph, {"x": x}, ["y"]), expected, f"mean(x) {'>' if sign > 0 else '<'} 0")


def classifier_accuracy_kept(fixture_dir, spec, mode, frozen=None, margin=0.01):
    heldout = load_json(fixture_dir, spec["heldout"])
    with tempfile.TemporaryDirectory() as tmp:
        graph = quantized_pb(fixture_dir, spec, tmp, mode, frozen)
    inputs = {name: to_numpy(value) for name, value in heldout["inputs"].items()}
    probs = run_graph(graph, inputs, ["probs"])["probs"]
    labels = to_numpy(heldout["labels"])
    accuracy = float(np.mean(np.argmax(probs, axis=1) == labels))
    assert accuracy >= heldout["accuracy"] - margin, f"{mode}: accuracy {accuracy} vs TensorFlow's {heldout['accuracy']}"


def detections_kept(fixture_dir, spec, mode, frozen=None):
    images = load_json(fixture_dir, spec["images"])
    with tempfile.TemporaryDirectory() as tmp:
        graph = quantized_pb(fixture_dir, spec, tmp, mode, frozen)
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

# ---- TFLite: our .tflite, run by TensorFlow's own interpreter ---------------

# Fixtures whose graphs hold ops TFLite has no builtin for: converting them
# must fail with UNSUPPORTED_OP naming this op, and write nothing.
TFLITE_UNMAPPABLE = {
    "detector": "NonMaxSuppressionV3",
    "control_flow": "Enter",
    "training/lstm_seqlen_v1": "Enter",
    "training/lstm_seqlen_v2": "StatelessWhile",
    "training/vocab_table": "HashTableV2",
}
# Cut points before the unmappable part, with the nodes TensorFlow computes there.
TFLITE_CUTS = {
    "detector": [
        ["box_encodings", "class_predictions"],
        ["Postprocessor/decoded_boxes", "Postprocessor/Max", "Postprocessor/add_2"],
    ],
}


def tflite_cases():
    manifest = load_json(FIXTURES, "manifest.json")
    for name, spec in manifest["fixtures"].items():
        if not spec.get("io") or not spec.get("output_node_names") or not spec.get("frozen"):
            continue
        fixture_dir = os.path.join(FIXTURES, name)
        if name in TFLITE_UNMAPPABLE:
            yield f"{name}: tflite is UNSUPPORTED_OP ({TFLITE_UNMAPPABLE[name]}) and writes nothing", (
                lambda d=fixture_dir, s=spec, op=TFLITE_UNMAPPABLE[name]: tflite_refused(d, s, op)
            )
        else:
            yield f"{name}: .tflite gives TensorFlow's outputs in tf.lite.Interpreter", (
                lambda d=fixture_dir, s=spec: tflite_matches(d, s, s["output_node_names"])
            )
        for outputs in TFLITE_CUTS.get(name, []):
            yield f"{name}: .tflite of outputs={','.join(outputs)} gives TensorFlow's", (
                lambda d=fixture_dir, s=spec, o=outputs: tflite_matches(d, s, o)
            )
        for mode in ("float16", "int8"):
            if spec.get("heldout") and name not in TFLITE_UNMAPPABLE:
                yield f"{name}: {mode} .tflite keeps held-out accuracy", (
                    lambda d=fixture_dir, s=spec, m=mode: tflite_accuracy_kept(d, s, m)
                )
        if spec.get("heldout") and name not in TFLITE_UNMAPPABLE:
            yield f"{name}: int8-full .tflite keeps TFLiteConverter's full-int8 held-out accuracy", (
                lambda d=fixture_dir, s=spec: tflite_full_int8_kept(d, s)
            )
            yield f"{name}: tfmodel quantize --format tflite of TensorFlow's frozen graph keeps held-out accuracy", (
                lambda d=fixture_dir, s=spec: tflite_quantize_command_kept(d, s)
            )
            yield f"{name}: tfmodel quantize --format tflite --mode int8-full of TensorFlow's frozen graph keeps held-out accuracy", (
                lambda d=fixture_dir, s=spec: tflite_quantize_command_kept(d, s, full=True)
            )
        for outputs in TFLITE_CUTS.get(name, [])[:1]:
            yield f"{name}: float16 .tflite of outputs={','.join(outputs)} stays near TensorFlow's", (
                lambda d=fixture_dir, s=spec, o=outputs: tflite_float16_near(d, s, o)
            )
            for mode in (None, "float16", "int8", "int8-full"):
                if spec.get("images"):
                    yield f"{name}: {mode or 'float32'} .tflite heads keep top detections through TensorFlow's NMS", (
                        lambda d=fixture_dir, s=spec, o=outputs, m=mode: tflite_heads_keep_detections(d, s, o, m)
                    )
    for name, spec in load_json(TRAINING, "manifest.json")["fixtures"].items():
        if spec.get("error"):
            continue
        fixture_dir = os.path.join(TRAINING, name)
        if f"training/{name}" in TFLITE_UNMAPPABLE:
            op = TFLITE_UNMAPPABLE[f"training/{name}"]
            yield f"training/{name}: tflite is UNSUPPORTED_OP ({op}) and writes nothing", (
                lambda d=fixture_dir, s=spec, op=op: tflite_refused(d, s, op)
            )
        else:
            yield f"training/{name}: .tflite gives TensorFlow's outputs in tf.lite.Interpreter", (
                lambda d=fixture_dir, s=spec: training_tflite_matches(d, s)
            )


def convert_to_tflite(source, outdir, outputs=None, extra=()):
    args = ["convert", source, outdir, "--format", "tflite", *extra]
    if outputs:
        args += ["--output_node_names", ",".join(outputs)]
    return subprocess.run(["node", CLI, *args], capture_output=True, text=True)


def run_tflite(path, inputs):
    """Runs a .tflite through its serving_default signature, by node names."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice; it is TF 2.21's interpreter
        interpreter = tf.lite.Interpreter(model_path=path)
    runner = interpreter.get_signature_runner("serving_default")
    return runner(**inputs)


def tensorflow_outputs(fixture_dir, spec, io, outputs):
    """TensorFlow's values of `outputs`: the stored ones, else TensorFlow
    running its own frozen graph (freeze_graph's) on the stored inputs."""
    stored = io["outputs"]
    if all(name in stored for name in outputs):
        return {name: to_numpy(stored[name]) for name in outputs}
    graph = read_graph(os.path.join(fixture_dir, spec["frozen"]))
    inputs = {name: to_numpy(value) for name, value in io["inputs"].items()}
    return run_graph(graph, inputs, outputs)


def compare_tflite(actual, expected, label):
    for name, want in expected.items():
        assert name in actual, f"{label}: no output {name} in the signature (has {sorted(actual)})"
        got = actual[name]
        assert got.shape == want.shape, f"{label}: {name} has shape {got.shape}, TensorFlow gave {want.shape}"
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=f"{label}: output {name}")


def tflite_matches(fixture_dir, spec, outputs):
    io = load_json(fixture_dir, spec["io"])
    label = os.path.basename(fixture_dir)
    with tempfile.TemporaryDirectory() as tmp:
        pair = ["--input_graph", os.path.join(fixture_dir, spec["graph"])] if spec.get("graph") and not spec.get("meta") else []
        result = convert_to_tflite(source_of(fixture_dir, spec), tmp, outputs, pair)
        assert result.returncode == 0, f"convert --format tflite failed:\n{result.stderr}"
        path = os.path.join(tmp, "model.tflite")
        inputs = {name: to_numpy(value) for name, value in io["inputs"].items()}
        compare_tflite(run_tflite(path, inputs), tensorflow_outputs(fixture_dir, spec, io, outputs), label)
        ours = os.path.getsize(path)
    theirs = converter_size(os.path.join(fixture_dir, spec["frozen"]), list(io["inputs"]), outputs, io)
    check_size(ours, theirs, "float32")


def check_size(ours, theirs, mode):
    """Our file may be smaller than TensorFlow's converter's (it writes no
    runtime-version metadata), never more than 2% larger."""
    print(f"       size: ours {ours} bytes, TFLiteConverter's {mode} {theirs} ({(ours - theirs) / theirs * 100:+.1f}%)")
    assert ours <= theirs * 1.02, f"{mode}: ours {ours} bytes is more than 2% over TFLiteConverter's {theirs}"


def converter_size(frozen, inputs, outputs, io, mode=None, samples=None):
    return len(converter_model(frozen, inputs, outputs, io, mode, samples))


def converter_model(frozen, inputs, outputs, io, mode=None, samples=None):
    """TensorFlow's own .tflite for the same frozen graph: float, float16 or
    dynamic-range int8 weights, or (int8-full) full integer with float
    inputs and outputs, calibrated on `samples` one at a time."""
    shapes = {name: [None if d < 0 else d for d in _placeholder_shape(frozen, name, io)] for name in inputs}
    converter = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(frozen, inputs, outputs, input_shapes=shapes)
    if mode:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8-full":
        converter.representative_dataset = lambda: ([samples[i : i + 1]] for i in range(len(samples)))
    return converter.convert()


def run_converter_model(model, samples):
    """TensorFlow's converter writes no signature for a frozen graph: its
    one output, by position, for each sample in turn."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=model)
    interpreter.allocate_tensors()
    feed, fetch = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    results = []
    for i in range(len(samples)):
        interpreter.set_tensor(feed, samples[i : i + 1])
        interpreter.invoke()
        results.append(interpreter.get_tensor(fetch).copy())
    return np.concatenate(results)


def float_tensors_of(path):
    schema, model = read_tflite(path)
    subgraph = model.Subgraphs(0)
    tensors = [subgraph.Tensors(i) for i in range(subgraph.TensorsLength())]
    return sorted(t.Name().decode() for t in tensors if t.Type() == schema.TensorType.FLOAT32)


def tflite_full_int8_kept(fixture_dir, spec):
    """Full integer, calibrated on the held-out set by us and by TensorFlow's
    converter: our accuracy at least the converter's, at most 2% larger, and
    float only at the edges."""
    heldout = load_json(fixture_dir, spec["heldout"])
    (name, value), = heldout["inputs"].items()
    samples = to_numpy(value).astype(np.float32)
    labels = to_numpy(heldout["labels"])
    with tempfile.TemporaryDirectory() as tmp:
        calibration = os.path.join(tmp, "calibration.npy")
        np.save(calibration, samples)
        outdir = os.path.join(tmp, "out")
        result = convert_to_tflite(source_of(fixture_dir, spec), outdir, ["probs"], ["--quantize", "int8-full", "--calibration", calibration])
        assert result.returncode == 0, f"convert --quantize int8-full failed:\n{result.stderr}"
        path = os.path.join(outdir, "model.tflite")
        assert float_tensors_of(path) == sorted([name, "probs"]), f"float tensors inside: {float_tensors_of(path)}"
        ours = float(np.mean(np.argmax(run_tflite(path, {name: samples})["probs"], axis=1) == labels))
        size = os.path.getsize(path)
    io = load_json(fixture_dir, spec["io"])
    model = converter_model(os.path.join(fixture_dir, spec["frozen"]), [name], ["probs"], io, "int8-full", samples)
    theirs = float(np.mean(np.argmax(run_converter_model(model, samples), axis=1) == labels))
    print(f"       accuracy: ours {ours}, TFLiteConverter's full int8 {theirs} (float {heldout['accuracy']})")
    assert ours >= theirs, f"int8-full: accuracy {ours} below TFLiteConverter's {theirs}"
    check_size(size, len(model), "int8-full")


def tflite_accuracy_kept(fixture_dir, spec, mode):
    heldout = load_json(fixture_dir, spec["heldout"])
    with tempfile.TemporaryDirectory() as tmp:
        result = convert_to_tflite(source_of(fixture_dir, spec), tmp, ["probs"], ["--quantize", mode])
        assert result.returncode == 0, f"convert --format tflite --quantize {mode} failed:\n{result.stderr}"
        path = os.path.join(tmp, "model.tflite")
        inputs = {name: to_numpy(value) for name, value in heldout["inputs"].items()}
        probs = run_tflite(path, inputs)["probs"]
    accuracy = float(np.mean(np.argmax(probs, axis=1) == to_numpy(heldout["labels"])))
    assert accuracy >= heldout["accuracy"] - 0.01, f"{mode}: accuracy {accuracy} vs TensorFlow's {heldout['accuracy']}"


def tflite_quantize_command_kept(fixture_dir, spec, full=False):
    """`tfmodel quantize --format tflite` (int8 by default there, or
    int8-full calibrated on the held-out set) on the frozen graph
    TensorFlow's freeze_graph wrote."""
    heldout = load_json(fixture_dir, spec["heldout"])
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        extra = []
        if full:
            calibration = os.path.join(tmp, "calibration.npy")
            np.save(calibration, to_numpy(heldout["inputs"]["input"]).astype(np.float32))
            extra = ["--mode", "int8-full", "--calibration", calibration]
        result = subprocess.run(["node", CLI, "quantize", "--input", os.path.join(fixture_dir, spec["frozen"]), "--output", out,
                                 "--format", "tflite", "--output_node_names", "probs", *extra], capture_output=True, text=True)
        assert result.returncode == 0, f"quantize --format tflite failed:\n{result.stderr}"
        path = os.path.join(out, "model.tflite")
        assert "INT8" in tensor_types_of(path), f"no INT8 tensor in {tensor_types_of(path)}"
        if full:
            assert float_tensors_of(path) == ["input", "probs"], f"float tensors inside: {float_tensors_of(path)}"
        inputs = {name: to_numpy(value) for name, value in heldout["inputs"].items()}
        probs = run_tflite(path, inputs)["probs"]
    accuracy = float(np.mean(np.argmax(probs, axis=1) == to_numpy(heldout["labels"])))
    assert accuracy >= heldout["accuracy"] - 0.01, f"accuracy {accuracy} vs TensorFlow's {heldout['accuracy']}"


def tflite_heads_keep_detections(fixture_dir, spec, outputs, mode):
    """Our .tflite computes the heads; TensorFlow's own frozen graph, fed
    those heads, decodes and suppresses them: every confident detection
    TensorFlow made on the test images must come out again. int8-full is
    calibrated on the test images' PNGs, TensorFlow's converter on the same
    pixels."""
    images = load_json(fixture_dir, spec["images"])
    extra = ["--quantize", mode] if mode else []
    if mode == "int8-full":
        extra += ["--calibration", os.path.join(fixture_dir, os.path.dirname(spec["pngs"][0]))]
    with tempfile.TemporaryDirectory() as tmp:
        result = convert_to_tflite(source_of(fixture_dir, spec), tmp, outputs, extra)
        assert result.returncode == 0, f"convert --format tflite failed:\n{result.stderr}"
        path = os.path.join(tmp, "model.tflite")
        heads = [run_tflite(path, {"image_tensor": to_numpy(image["input"])}) for image in images]
        ours = os.path.getsize(path)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(read_graph(os.path.join(fixture_dir, spec["frozen"])), name="")
    names = ["detection_boxes", "detection_scores", "detection_classes", "num_detections"]
    with tf.compat.v1.Session(graph=graph) as session:
        for index, (image, head) in enumerate(zip(images, heads)):
            fetched = session.run([f"{n}:0" for n in names], {f"{n}:0": head[n] for n in outputs})
            detected = dict(zip(names, fetched))
            assert_detections_kept(detected, image, f"{mode or 'float32'}: image {index}")
    if mode:
        io = load_json(fixture_dir, spec["io"])
        samples = np.concatenate([to_numpy(image["input"]) for image in images])
        theirs = converter_size(os.path.join(fixture_dir, spec["frozen"]), list(io["inputs"]), outputs, io, mode, samples)
        check_size(ours, theirs, mode)


def assert_detections_kept(ours, image, label):
    names = ["detection_boxes", "detection_scores", "detection_classes"]
    boxes, scores, classes = (to_numpy(image["outputs"][n])[0] for n in names)
    for d in range(int(to_numpy(image["outputs"]["num_detections"])[0])):
        if scores[d] < 0.5:
            continue
        found = any(
            ours["detection_classes"][0][k] == classes[d] and iou(ours["detection_boxes"][0][k], boxes[d]) >= 0.9
            for k in range(int(ours["num_detections"][0]))
        )
        assert found, f"{label} lost detection {d} (class {classes[d]})"


def tflite_float16_near(fixture_dir, spec, outputs):
    """float16 weights move each output by about their rounding (2^-11
    relative): within 1% of the output's range of TensorFlow's float32 values."""
    io = load_json(fixture_dir, spec["io"])
    with tempfile.TemporaryDirectory() as tmp:
        result = convert_to_tflite(source_of(fixture_dir, spec), tmp, outputs, ["--quantize", "float16"])
        assert result.returncode == 0, f"convert --format tflite --quantize float16 failed:\n{result.stderr}"
        path = os.path.join(tmp, "model.tflite")
        inputs = {name: to_numpy(value) for name, value in io["inputs"].items()}
        actual = run_tflite(path, inputs)
        ours = os.path.getsize(path)
    for name, want in tensorflow_outputs(fixture_dir, spec, io, outputs).items():
        scale = float(np.max(np.abs(want)))
        np.testing.assert_allclose(actual[name], want, rtol=0, atol=0.01 * scale, err_msg=f"float16: {name}")
    theirs = converter_size(os.path.join(fixture_dir, spec["frozen"]), list(io["inputs"]), outputs, io, "float16")
    check_size(ours, theirs, "float16")


def _placeholder_shape(frozen, name, io):
    node = next(n for n in read_graph(frozen).node if n.name == name)
    dims = node.attr["shape"].shape.dim
    return [d.size for d in dims] if dims else list(to_numpy(io["inputs"][name]).shape)


def training_tflite_matches(fixture_dir, spec):
    with tempfile.TemporaryDirectory() as tmp:
        result = convert_to_tflite(os.path.join(fixture_dir, spec["source"]), tmp)
        assert result.returncode == 0, f"convert --format tflite failed:\n{result.stderr}"
        path = os.path.join(tmp, "model.tflite")
        for io_name in spec["io"]:
            io = load_json(fixture_dir, io_name)
            inputs = {k: to_numpy(v) for k, v in io["inputs"].items()}
            expected = {name: to_numpy(io["outputs"][name]) for name in spec["outputs"]}
            compare_tflite(run_tflite(path, inputs), expected, io_name)


# One small graph per mapped op, built by TensorFlow here: TensorFlow runs it
# for the expected values, our .tflite of it must contain the builtin and give
# them. (label, input shape, builtin, build(x) -> output tensor)
IMAGE, MATRIX, CUBE = [None, 8, 8, 3], [None, 6], [None, 3, 4]


def _constant(shape, seed):
    return tf.constant(np.random.default_rng(seed).normal(size=shape).astype(np.float32))


TFLITE_OP_CASES = [
    ("Conv2D VALID dilated, no bias", IMAGE, "CONV_2D", lambda x: tf.nn.conv2d(x, _constant([3, 3, 3, 5], 1), 1, "VALID", dilations=2)),
    ("Conv2D stride 2 + BiasAdd + Relu", IMAGE, "CONV_2D", lambda x: tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, _constant([3, 3, 3, 4], 2), 2, "SAME"), _constant([4], 3)))),
    ("DepthwiseConv2dNative VALID stride 2, no bias", IMAGE, "DEPTHWISE_CONV_2D", lambda x: tf.nn.depthwise_conv2d(x, _constant([3, 3, 3, 2], 4), [1, 2, 2, 1], "VALID")),
    ("MatMul transpose_b, no bias", MATRIX, "FULLY_CONNECTED", lambda x: tf.matmul(x, _constant([5, 6], 5), transpose_b=True)),
    ("MatMul + AddV2 + Relu6", MATRIX, "FULLY_CONNECTED", lambda x: tf.nn.relu6(tf.matmul(x, _constant([6, 3], 6)) + _constant([3], 7))),
    ("MatMul of two activations", MATRIX, "BATCH_MATMUL", lambda x: tf.matmul(x, tf.nn.relu(x), transpose_b=True)),
    ("BiasAdd after Mul", IMAGE, "ADD", lambda x: tf.nn.bias_add(x * 2.0, _constant([3], 8))),
    ("Add + Relu", MATRIX, "ADD", lambda x: tf.nn.relu(x + tf.sin(x))),
    ("Sub", MATRIX, "SUB", lambda x: x - tf.cos(x)),
    ("Mul", MATRIX, "MUL", lambda x: x * tf.exp(x)),
    ("RealDiv", MATRIX, "DIV", lambda x: x / (tf.abs(x) + 1.0)),
    ("Maximum", MATRIX, "MAXIMUM", lambda x: tf.maximum(x, 0.25)),
    ("Minimum", MATRIX, "MINIMUM", lambda x: tf.minimum(x, -0.25)),
    ("Pow", MATRIX, "POW", lambda x: tf.pow(tf.abs(x) + 0.5, 1.5)),
    ("SquaredDifference", MATRIX, "SQUARED_DIFFERENCE", lambda x: tf.math.squared_difference(x, _constant([6], 9))),
    ("Relu", MATRIX, "RELU", lambda x: tf.nn.relu(tf.reduce_mean(x, axis=1, keepdims=True))),
    ("Relu6", MATRIX, "RELU6", lambda x: tf.nn.relu6(tf.square(3.0 * x))),
    ("Mul + Relu6", MATRIX, "MUL", lambda x: tf.nn.relu6(6.0 * tf.sin(x))),
    ("Elu", MATRIX, "ELU", tf.nn.elu),
    ("LeakyRelu", MATRIX, "LEAKY_RELU", lambda x: tf.nn.leaky_relu(x, alpha=0.1)),
    ("Sigmoid", MATRIX, "LOGISTIC", tf.sigmoid),
    ("Tanh", MATRIX, "TANH", tf.tanh),
    ("Softmax", CUBE, "SOFTMAX", tf.nn.softmax),
    ("LogSoftmax", MATRIX, "LOG_SOFTMAX", tf.nn.log_softmax),
    ("Exp", MATRIX, "EXP", tf.exp),
    ("Log", MATRIX, "LOG", lambda x: tf.math.log(tf.abs(x) + 1.0)),
    ("Sqrt", MATRIX, "SQRT", lambda x: tf.sqrt(tf.abs(x))),
    ("Rsqrt", MATRIX, "RSQRT", lambda x: tf.math.rsqrt(tf.abs(x) + 1.0)),
    ("Square", MATRIX, "SQUARE", tf.square),
    ("Neg", MATRIX, "NEG", tf.negative),
    ("Floor", MATRIX, "FLOOR", lambda x: tf.floor(3.0 * x)),
    ("Ceil", MATRIX, "CEIL", lambda x: tf.math.ceil(3.0 * x)),
    ("MaxPool SAME", IMAGE, "MAX_POOL_2D", lambda x: tf.nn.max_pool2d(x, 3, 2, "SAME")),
    ("AvgPool VALID", IMAGE, "AVERAGE_POOL_2D", lambda x: tf.nn.avg_pool2d(x, 2, 2, "VALID")),
    ("Mean keep_dims", IMAGE, "MEAN", lambda x: tf.reduce_mean(x, axis=[1, 2], keepdims=True)),
    ("Sum", CUBE, "SUM", lambda x: tf.reduce_sum(x, axis=-1)),
    ("Max", CUBE, "REDUCE_MAX", lambda x: tf.reduce_max(x, axis=1)),
    ("Min", CUBE, "REDUCE_MIN", lambda x: tf.reduce_min(x, axis=1)),
    ("Prod", CUBE, "REDUCE_PROD", lambda x: tf.reduce_prod(x, axis=2)),
    ("ConcatV2", MATRIX, "CONCATENATION", lambda x: tf.concat([x, tf.exp(x)], axis=-1)),
    ("ConcatV2 + Relu", MATRIX, "RELU", lambda x: tf.nn.relu(tf.concat([x, -x], axis=1))),
    ("AvgPool + Relu", IMAGE, "AVERAGE_POOL_2D", lambda x: tf.nn.relu(tf.nn.avg_pool2d(x, 3, 1, "SAME"))),
    ("Pack", MATRIX, "PACK", lambda x: tf.stack([x, 2.0 * x], axis=1)),
    ("Unpack", CUBE, "UNPACK", lambda x: tf.unstack(x, axis=1)[1]),
    ("Reshape", CUBE, "RESHAPE", lambda x: tf.reshape(x, [-1, 2, 6])),
    ("Squeeze", IMAGE, "SQUEEZE", lambda x: tf.squeeze(tf.reduce_mean(x, axis=[1, 2], keepdims=True), axis=[1, 2])),
    ("ExpandDims", MATRIX, "EXPAND_DIMS", lambda x: tf.expand_dims(x, 1)),
    ("Transpose", IMAGE, "TRANSPOSE", lambda x: tf.transpose(x, [0, 3, 1, 2])),
    ("Pad", IMAGE, "PAD", lambda x: tf.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]])),
    ("MirrorPad", IMAGE, "MIRROR_PAD", lambda x: tf.pad(x, [[0, 0], [1, 1], [2, 2], [0, 0]], mode="REFLECT")),
    ("StridedSlice", IMAGE, "STRIDED_SLICE", lambda x: x[:, ::2, 1:-1, 0]),
    ("Slice", IMAGE, "SLICE", lambda x: tf.slice(x, [0, 1, 1, 0], [-1, 4, 4, 2])),
    ("Cast", MATRIX, "CAST", lambda x: tf.cast(3.0 * x, tf.int32)),
    ("ArgMax", CUBE, "ARG_MAX", lambda x: tf.argmax(x, axis=2)),
    ("GatherV2", CUBE, "GATHER", lambda x: tf.gather(x, [3, 0, 0], axis=2)),
    ("ResizeBilinear", IMAGE, "RESIZE_BILINEAR", lambda x: tf.image.resize(x, [12, 12], method="bilinear")),
    ("ResizeBilinear align_corners", IMAGE, "RESIZE_BILINEAR", lambda x: tf.compat.v1.image.resize_bilinear(x, [12, 12], align_corners=True)),
    ("ResizeNearestNeighbor", IMAGE, "RESIZE_NEAREST_NEIGHBOR", lambda x: tf.image.resize(x, [16, 16], method="nearest")),
    ("Shape", IMAGE, "SHAPE", tf.shape),
    ("Fill", MATRIX, "FILL", lambda x: tf.fill(tf.shape(x), 3.0)),
    ("Tile", MATRIX, "TILE", lambda x: tf.tile(x, [1, 2])),
]


# Weights of at least quantize's minimum size (1024 elements), quantized:
# (label, input shape, mode, builtin that must read them, build(x)).
TFLITE_QUANTIZED_OP_CASES = [
    ("Conv2D int8 per channel", IMAGE, "int8", "CONV_2D", lambda x: tf.nn.conv2d(x, _constant([3, 3, 3, 40], 11), 1, "SAME")),
    ("DepthwiseConv2dNative int8 per channel", [None, 8, 8, 64], "int8", "DEPTHWISE_CONV_2D", lambda x: tf.nn.depthwise_conv2d(x, _constant([3, 3, 64, 2], 12), [1, 1, 1, 1], "SAME")),
    ("MatMul int8 per channel", MATRIX, "int8", "FULLY_CONNECTED", lambda x: tf.matmul(x, _constant([6, 200], 13))),
    ("MatMul transpose_b int8 per channel", MATRIX, "int8", "FULLY_CONNECTED", lambda x: tf.matmul(x, _constant([200, 6], 14), transpose_b=True)),
    # MobileNetV2's last 1x1 conv: its 1280-element bias passes the minimum size but stays float32
    # (TensorFlow's interpreter cannot prepare a hybrid conv whose bias is dequantized).
    ("Conv2D + BiasAdd int8, a 1280-wide bias kept float", [None, 4, 4, 8], "int8", "CONV_2D", lambda x: tf.nn.relu6(tf.nn.bias_add(tf.nn.conv2d(x, _constant([1, 1, 8, 1280], 17), 1, "VALID"), _constant([1280], 18)))),
    ("MatMul + bias int8, a 1280-wide bias kept float", MATRIX, "int8", "FULLY_CONNECTED", lambda x: tf.matmul(x, _constant([6, 1280], 19)) + _constant([1280], 20)),
    ("Mul by an int8 constant, dequantized", [None, 32, 40], "int8", "DEQUANTIZE", lambda x: x * _constant([32, 40], 15)),
    ("MatMul float16", MATRIX, "float16", "DEQUANTIZE", lambda x: tf.matmul(x, _constant([6, 200], 16))),
]


# Graphs whose .tflite must not hold `absent`: what TFLite's converter folds away too.
TFLITE_FOLD_CASES = [
    ("ZeroPadding2D before a strided VALID depthwise conv becomes SAME", [None, 8, 8, 4], "PAD",
     lambda x: tf.nn.depthwise_conv2d(tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]), _constant([3, 3, 4, 1], 21), [1, 2, 2, 1], "VALID")),
    ("ZeroPadding2D before a strided VALID conv becomes SAME", [None, 9, 9, 4], "PAD",
     lambda x: tf.nn.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), _constant([3, 3, 4, 6], 22), 2, "VALID")),
]


def _dequantized(dtype, mode, seed, axis=None, narrow=False):
    """A [4, 6] weight stored as quint8 or qint8 levels and decoded by
    TensorFlow's own Dequantize kernel in `mode`: how quantize_graph and
    tfmodel quantize store weights. Per channel along `axis` when given."""
    rng = np.random.default_rng(seed)
    low, high = (0, 256) if dtype == tf.quint8 else (-127 if narrow else -128, 128)
    levels = tf.constant(rng.integers(low, high, (4, 6)).astype(np.uint8 if dtype == tf.quint8 else np.int8), dtype=dtype)
    channels = [] if axis is None else [(4, 6)[axis]]
    minimum = tf.constant(-rng.uniform(0.1, 2.0, channels).astype(np.float32))
    maximum = tf.constant(rng.uniform(0.1, 2.0, channels).astype(np.float32))
    return tf.quantization.dequantize(levels, minimum, maximum, mode=mode, axis=axis, narrow_range=narrow)


# Weights decoded at conversion, as TensorFlow's Dequantize would: the .tflite holds float constants.
TFLITE_FOLD_CASES += [
    (f"Dequantize of a {'quint8' if dtype == tf.quint8 else 'qint8'} {mode} weight{label} is decoded", [None, 4], "DEQUANTIZE",
     lambda x, d=dtype, m=mode, seed=seed, a=axis, n=narrow: tf.matmul(x, _dequantized(d, m, seed, a, n)))
    for seed, (dtype, mode, axis, narrow, label) in enumerate([
        (tf.quint8, "MIN_COMBINED", None, False, " (quantize_graph's weights mode)"),
        (tf.quint8, "MIN_FIRST", None, False, ""),
        (tf.quint8, "SCALED", None, False, ""),
        (tf.qint8, "MIN_COMBINED", None, False, ""),
        (tf.qint8, "SCALED", None, False, ""),
        (tf.qint8, "SCALED", 1, True, " per output channel, narrow range (tfmodel quantize --mode int8)"),
        (tf.qint8, "SCALED", 0, False, " per input channel"),
    ], start=40)
]


@functools.lru_cache(maxsize=1)
@functools.cache
def keras_mobilenet():
    """A Keras 3 MobileNetV2 (alpha 0.35, 96 px, random weights, logits out),
    frozen by TensorFlow's convert_variables_to_constants_v2, with its input
    and output names, a random image and TensorFlow's logits for it. Its
    batch norms take their statistics from a batch of random images, as a
    trained model's hold those of its data: with the initial ones (mean 0,
    variance 1) the activations shrink layer by layer to logits of 1e-10."""
    import keras
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(
        weights=None, input_shape=(96, 96, 3), alpha=0.35, classifier_activation=None
    )
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0  # one step sets the moving statistics to the batch's
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss=keras.losses.MeanSquaredError())
    batch = np.random.default_rng(2).random((16, 96, 96, 3), dtype=np.float32)
    model.fit(batch, np.zeros((16, 1000), np.float32), batch_size=16, epochs=1, verbose=0)
    function = tf.function(lambda x: model(x, training=False)).get_concrete_function(tf.TensorSpec([1, 96, 96, 3], tf.float32))
    frozen = convert_variables_to_constants_v2(function)
    graph_def = frozen.graph.as_graph_def()
    x_name = next(n.name for n in graph_def.node if n.op == "Placeholder")
    out_name = frozen.outputs[0].name.split(":")[0]
    feed = np.random.default_rng(0).random((1, 96, 96, 3)).astype(np.float32)
    expected = run_graph(graph_def, {x_name: feed}, [out_name])[out_name]
    return graph_def, x_name, out_name, feed, expected


def keras_mobilenet_matches(mode):
    """A real architecture's ZeroPadding2D, depthwise convolutions, batch
    norms and residual adds, through our .tflite and TensorFlow's interpreter."""
    graph_def, x_name, out_name, feed, expected = keras_mobilenet()
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "mobilenet.pb")
        with open(source, "wb") as f:
            f.write(graph_def.SerializeToString())
        result = convert_to_tflite(source, os.path.join(tmp, "out"), [out_name], ["--quantize", mode] if mode else [])
        assert result.returncode == 0, f"convert --format tflite failed:\n{result.stderr}"
        path = os.path.join(tmp, "out", "model.tflite")
        assert "PAD" not in builtins_of(path), f"ZeroPadding2D left a PAD: {builtins_of(path)}"
        actual = run_tflite(path, {x_name: feed})[out_name]
        theirs = run_converter_model(converter_model(source, [x_name], [out_name], {}, mode), feed) if mode else None
    scale = float(np.max(np.abs(expected)))
    if mode:
        # Quantized weights move the logits; by no more than they move TensorFlow's converter's file.
        ours_error, their_error = float(np.mean(np.abs(actual - expected))), float(np.mean(np.abs(theirs - expected)))
        print(f"       mean |logit error|: ours {ours_error:.3g}, TFLiteConverter's {mode} {their_error:.3g} (largest logit {scale:.3g})")
        assert ours_error <= 1.1 * their_error + 1e-6 * scale, f"{mode}: mean logit error {ours_error} against TFLiteConverter's {their_error}"
    else:
        # Float32 in another order of operations (batch norms folded): within 1e-5 of the largest logit.
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5 * scale, err_msg="MobileNetV2 float32 .tflite")


def keras_mobilenet_full_int8_near():
    """Full integer on a real architecture (residual adds of two scales,
    depthwise convolutions, ReLU6), calibrated by us and by TFLiteConverter
    on the same 32 images: on 16 others our logits stay as near TensorFlow's
    float ones as the converter's do, at most 2% larger."""
    graph_def, x_name, out_name, _, _ = keras_mobilenet()
    rng = np.random.default_rng(1)
    calibration, held_out = rng.random((32, 96, 96, 3), dtype=np.float32), rng.random((16, 96, 96, 3), dtype=np.float32)
    expected = np.concatenate([run_graph(graph_def, {x_name: held_out[i : i + 1]}, [out_name])[out_name] for i in range(16)])
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "mobilenet.pb")
        with open(source, "wb") as f:
            f.write(graph_def.SerializeToString())
        samples = os.path.join(tmp, "calibration.npy")
        np.save(samples, calibration)
        result = convert_to_tflite(source, os.path.join(tmp, "out"), [out_name], ["--quantize", "int8-full", "--calibration", samples])
        assert result.returncode == 0, f"convert --quantize int8-full failed:\n{result.stderr}"
        path = os.path.join(tmp, "out", "model.tflite")
        assert float_tensors_of(path) == sorted([x_name, out_name]), f"float tensors inside: {float_tensors_of(path)}"
        ours = np.concatenate([run_tflite(path, {x_name: held_out[i : i + 1]})[out_name] for i in range(16)])
        size = os.path.getsize(path)
        model = converter_model(source, [x_name], [out_name], {}, "int8-full", calibration)
    theirs = run_converter_model(model, held_out)
    ours_error, their_error = float(np.mean(np.abs(ours - expected))), float(np.mean(np.abs(theirs - expected)))
    print(f"       mean |logit error|: ours {ours_error:.3g}, TFLiteConverter's full int8 {their_error:.3g} (logits span {float(np.ptp(expected)):.3g})")
    assert ours_error <= 1.1 * their_error, f"int8-full: mean logit error {ours_error} against TFLiteConverter's {their_error}"
    check_size(size, len(model), "int8-full")


def keras_mobilenet_pb_matches():
    """The optimizer on the same MobileNetV2 (its Pads folded into SAME
    convolutions, its batch norms into their weights), run by TensorFlow."""
    graph_def, x_name, out_name, feed, expected = keras_mobilenet()
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "mobilenet.pb")
        with open(source, "wb") as f:
            f.write(graph_def.SerializeToString())
        result = subprocess.run(["node", CLI, "convert", source, os.path.join(tmp, "out"), "--format", "pb",
                                 "--output_node_names", out_name], capture_output=True, text=True)
        assert result.returncode == 0, f"convert --format pb failed:\n{result.stderr}"
        ours = read_graph(os.path.join(tmp, "out", "model.pb"))
    ops = {n.op for n in ours.node}
    assert "Pad" not in ops and "FusedBatchNormV3" not in ops, f"left in the graph: {ops & {'Pad', 'FusedBatchNormV3'}}"
    actual = run_graph(ours, {x_name: feed}, [out_name])[out_name]
    # Another order of operations (batch norms folded): within 1e-5 of the largest logit.
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5 * float(np.max(np.abs(expected))), err_msg="MobileNetV2 .pb")


def tflite_op_cases():
    for label, shape, builtin, build in TFLITE_OP_CASES:
        yield f"ops/{label}: .tflite has {builtin} and gives TensorFlow's outputs", (
            lambda s=shape, b=builtin, f=build: tflite_op_matches(s, b, f)
        )
    yield "keras/MobileNetV2: convert --format pb gives TensorFlow's logits, its Pads and batch norms folded", keras_mobilenet_pb_matches
    yield "keras/MobileNetV2: float32 .tflite gives TensorFlow's logits in tf.lite.Interpreter", lambda: keras_mobilenet_matches(None)
    for mode in ("float16", "int8"):
        yield f"keras/MobileNetV2: {mode} .tflite stays as near TensorFlow's logits as TFLiteConverter's {mode}", (
            lambda m=mode: keras_mobilenet_matches(m)
        )
    yield "keras/MobileNetV2: int8-full .tflite stays as near TensorFlow's logits as TFLiteConverter's full int8", keras_mobilenet_full_int8_near
    for label, shape, absent, build in TFLITE_FOLD_CASES:
        yield f"ops/{label}: .tflite has no {absent} and gives TensorFlow's outputs", (
            lambda s=shape, a=absent, f=build: tflite_op_matches(s, None, f, absent=a)
        )
    # Padding SAME would not add stays a PAD.
    yield "ops/Pad unlike SAME's before a VALID conv stays a PAD and gives TensorFlow's outputs", (
        lambda: tflite_op_matches([None, 8, 8, 4], "PAD", lambda x: tf.nn.conv2d(
            tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), _constant([3, 3, 4, 6], 23), 2, "VALID"))
    )
    for label, shape, mode, builtin, build in TFLITE_QUANTIZED_OP_CASES:
        yield f"ops/{label}: .tflite has {builtin} and stays near TensorFlow's outputs", (
            lambda s=shape, b=builtin, f=build, m=mode: tflite_op_matches(s, b, f, m)
        )


def tflite_op_matches(shape, builtin, build, mode=None, absent=None):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, shape, name="x")
        tf.identity(build(x), name="out")
    feed = np.random.default_rng(0).normal(size=[2, *shape[1:]]).astype(np.float32)
    with tf.compat.v1.Session(graph=graph) as session:
        expected = session.run("out:0", {"x:0": feed})
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "graph.pb")
        with open(source, "wb") as f:
            f.write(graph.as_graph_def().SerializeToString())
        result = convert_to_tflite(source, os.path.join(tmp, "out"), ["out"], ["--quantize", mode] if mode else [])
        assert result.returncode == 0, f"convert --format tflite failed:\n{result.stderr}"
        path = os.path.join(tmp, "out", "model.tflite")
        if builtin:
            assert builtin in builtins_of(path), f"no {builtin} in {builtins_of(path)}"
        if absent:
            assert absent not in builtins_of(path), f"{absent} in {builtins_of(path)}"
        if mode:
            stored = {"int8": "INT8", "float16": "FLOAT16"}[mode]
            assert stored in tensor_types_of(path), f"no {stored} tensor in {tensor_types_of(path)}"
        actual = run_tflite(path, {"x": feed})
    if mode:
        # Quantized weights (and int8's inputs, quantized on the fly) move
        # each output by a small share of its range.
        scale = float(np.max(np.abs(expected)))
        np.testing.assert_allclose(actual["out"], expected, rtol=0, atol=0.03 * scale, err_msg=f"{mode} {builtin}")
    else:
        compare_tflite(actual, {"out": np.asarray(expected)}, builtin)


def read_tflite(path):
    from tensorflow.lite.python import schema_py_generated as schema

    with open(path, "rb") as f:
        return schema, schema.Model.GetRootAsModel(f.read(), 0)


def builtins_of(path):
    schema, model = read_tflite(path)
    names = {code: name for name, code in vars(schema.BuiltinOperator).items() if name.isupper()}
    return sorted({names[model.OperatorCodes(i).BuiltinCode()] for i in range(model.OperatorCodesLength())})


def tensor_types_of(path):
    schema, model = read_tflite(path)
    names = {code: name for name, code in vars(schema.TensorType).items() if name.isupper()}
    subgraph = model.Subgraphs(0)
    return sorted({names[subgraph.Tensors(i).Type()] for i in range(subgraph.TensorsLength())})


def tflite_refused(fixture_dir, spec, op):
    source = os.path.join(fixture_dir, spec.get("source") or spec.get("checkpoint"))
    with tempfile.TemporaryDirectory() as tmp:
        outdir = os.path.join(tmp, "out")
        result = convert_to_tflite(source, outdir)
        assert result.returncode != 0, "convert --format tflite succeeded"
        assert "UNSUPPORTED_OP" in result.stderr and f"({op})" in result.stderr, result.stderr
        assert not os.path.exists(outdir), f"{outdir} was written: {os.listdir(outdir)}"
        assert os.listdir(tmp) == [], f"left behind: {os.listdir(tmp)}"


# ---- SavedModels: our .pb run by TensorFlow, our .tflite by its interpreter ----

SAVED_MODELS = os.path.join(FIXTURES, "saved_model")
# SavedModels whose functions hold ops TFLite has no builtin for: converting
# them must fail with UNSUPPORTED_OP naming this op, and write nothing.
SAVED_MODEL_TFLITE_UNMAPPABLE = {"control_flow": "While", "keras_lstm": "While"}


def saved_model_cases():
    for name, spec in load_json(SAVED_MODELS, "manifest.json")["fixtures"].items():
        model = os.path.join(SAVED_MODELS, spec["saved_model"])
        for signature, io in spec["signatures"].items():
            ios = [io, *spec.get("extra_io", [])] if signature == "serving_default" else [io]
            # TensorFlow's own freezer's node count is for the serving signature.
            limit = spec["tf_frozen_node_count"] if signature == "serving_default" else None
            yield f"saved_model/{name} {signature}: convert --format pb runs in TensorFlow to the signature's outputs", (
                lambda m=model, s=signature, i=ios, n=limit: saved_model_pb_matches(m, ["--signature_name", s], [os.path.join(m, f) for f in i], n)
            )
            if name in SAVED_MODEL_TFLITE_UNMAPPABLE:
                yield f"saved_model/{name} {signature}: convert --format tflite is refused, naming {SAVED_MODEL_TFLITE_UNMAPPABLE[name]}", (
                    lambda m=model, s=signature, op=SAVED_MODEL_TFLITE_UNMAPPABLE[name]: saved_model_tflite_refused(m, s, op)
                )
            else:
                yield f"saved_model/{name} {signature}: .tflite gives the signature's outputs in tf.lite.Interpreter", (
                    lambda m=model, s=signature, i=ios: saved_model_tflite_matches(m, ["--signature_name", s], [os.path.join(m, f) for f in i])
                )
        for tags, signatures in spec.get("tag_sets", {}).items():
            for signature, io in signatures.items():
                flags = ["--signature_name", signature, "--saved_model_tags", tags]
                yield f"saved_model/{name} [{tags}] {signature}: convert --format pb reads that meta graph, as TensorFlow's loader", (
                    lambda m=model, f=flags, i=io: saved_model_pb_matches(m, f, [os.path.join(m, i)])
                )
                yield f"saved_model/{name} [{tags}] {signature}: .tflite gives that meta graph's outputs in tf.lite.Interpreter", (
                    lambda m=model, f=flags, i=io: saved_model_tflite_matches(m, f, [os.path.join(m, i)])
                )
        checkpoints = spec.get("checkpoints")
        for step, io in (checkpoints or {}).get("io", {}).items():
            source = os.path.join(SAVED_MODELS, checkpoints["dir"], step)
            yield f"saved_model/{name} paired with {step}: convert --format pb gives TensorFlow's outputs for that step", (
                lambda src=source, m=model, i=io: saved_model_pb_matches(src, ["--input_graph", m], [os.path.join(SAVED_MODELS, i)])
            )


def saved_model_pb_matches(source, flags, io_files, node_limit=None):
    with tempfile.TemporaryDirectory() as tmp:
        run_cli("convert", source, tmp, "--format", "pb", *flags)
        graph = read_graph(os.path.join(tmp, "model.pb"))
    if node_limit is not None:
        nodes = len(graph.node) + sum(len(f.node_def) for f in graph.library.function)
        assert nodes <= node_limit, f"{nodes} nodes (functions included), TensorFlow's freezer leaves {node_limit}"
    for io_file in io_files:
        io = load_json(os.path.dirname(io_file), os.path.basename(io_file))
        inputs = {k: to_numpy(v) for k, v in io["inputs"].items()}
        placeholders = sorted(n.name for n in graph.node if n.op == "Placeholder")
        assert placeholders == sorted(inputs), f"placeholders {placeholders}, the signature takes {sorted(inputs)}"
        actual = run_graph(graph, inputs, list(io["outputs"]))
        for output, expected in io["outputs"].items():
            np.testing.assert_allclose(actual[output], to_numpy(expected), rtol=1e-4, atol=1e-5, err_msg=f"{io_file}: {output}")


def saved_model_tflite_matches(model, flags, io_files):
    with tempfile.TemporaryDirectory() as tmp:
        result = convert_to_tflite(model, tmp, extra=flags)
        assert result.returncode == 0, f"convert --format tflite failed:\n{result.stderr}"
        for io_file in io_files:
            io = load_json(os.path.dirname(io_file), os.path.basename(io_file))
            inputs = {k: to_numpy(v) for k, v in io["inputs"].items()}
            expected = {k: to_numpy(v) for k, v in io["outputs"].items()}
            compare_tflite(run_tflite(os.path.join(tmp, "model.tflite"), inputs), expected, io_file)


def saved_model_tflite_refused(model, signature, op):
    with tempfile.TemporaryDirectory() as tmp:
        outdir = os.path.join(tmp, "out")
        result = convert_to_tflite(model, outdir, extra=("--signature_name", signature))
        assert result.returncode != 0, "convert --format tflite succeeded"
        assert "UNSUPPORTED_OP" in result.stderr and f"({op}" in result.stderr, result.stderr
        assert "saved_model.pb" in result.stderr, f"the error names no file: {result.stderr}"
        assert not os.path.exists(outdir), f"{outdir} was written: {os.listdir(outdir)}"


def main():
    """`parity.py [WORD ...]` runs only the cases whose label holds one of the words."""
    words = sys.argv[1:]
    passed = failed = 0
    for label, case in [*parity_cases(), *training_cases(), *saved_model_cases(), *tflite_cases(), *tflite_op_cases()]:
        if words and not any(word in label for word in words):
            continue
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

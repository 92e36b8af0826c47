"""A real TF1 training loop for the dev-server soak test: a small regression
model trained with SGD, saved by a Saver (max_to_keep=3) every INTERVAL
seconds for SECONDS seconds into TRAIN_DIR, the way a user's loop writes
checkpoints while `vite dev` serves them.

Each save's weights go to LOG (one JSON line per step, outside TRAIN_DIR so
the dev server does not watch it): the test checks every model it is served
against them.

usage: training-loop.py TRAIN_DIR LOG SECONDS INTERVAL
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1
tf1.disable_eager_execution()


def main(train_dir, log_path, seconds, interval):
    rng = np.random.default_rng(7)
    x = tf1.placeholder(tf.float32, [None, 4], name="x")
    labels = tf1.placeholder(tf.float32, [None, 3], name="labels")
    w = tf1.get_variable("w", [4, 3], initializer=tf1.glorot_uniform_initializer(seed=1))
    b = tf1.get_variable("b", [3], initializer=tf1.zeros_initializer())
    y = tf.nn.bias_add(tf.matmul(x, w), b, name="y")
    loss = tf1.losses.mean_squared_error(labels, y)
    step = tf1.train.get_or_create_global_step()
    train = tf1.train.GradientDescentOptimizer(0.05).minimize(loss, global_step=step)
    saver = tf1.train.Saver(max_to_keep=3)
    target = rng.normal(size=(4, 3)).astype(np.float32)
    with tf1.Session() as session, open(log_path, "w") as log:
        session.run(tf1.global_variables_initializer())
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            batch = rng.normal(size=(16, 4)).astype(np.float32)
            # Noisy labels keep the weights moving: without noise SGD converges
            # and later steps save the same weights, telling no step from another.
            noise = 0.1 * rng.normal(size=(16, 3)).astype(np.float32)
            _, n = session.run([train, step], {x: batch, labels: batch @ target + noise})
            saver.save(session, os.path.join(train_dir, "model.ckpt"), global_step=n)
            w_value, b_value = session.run([w, b])
            log.write(json.dumps({"step": int(n), "w": w_value.ravel().tolist(), "b": b_value.tolist()}) + "\n")
            log.flush()
            time.sleep(interval)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))

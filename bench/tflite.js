// TFLite inference on LiteRT.js in Node, one WASM thread, batch 1: for each
// model built by bench/tflite_models.py and each mode (float32, dynamic-range
// int8, float16, full int8), our .tflite against TFLite's converter's; in
// float32 and full int8 also tensorflowjs_converter's TF.js graph model on
// tfjs-backend-wasm (one thread), when it was built. The models of a row live in one process and
// run interleaved (one process to the next varies far more than two models
// in one): 20 warm-up runs each, then 30 timed runs each, through the same
// runtime calls. Reports fastest and median, and ratios (below 1 is faster);
// writes bench/out/tflite.json.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import * as tf from '@tensorflow/tfjs-core'

import { loadForRun } from '../dist/node/index.js'
import { loadGraph, median, out, RUNS, WARMUP } from './inference.js'

await tf.setBackend('wasm')

/** A .tflite loaded by our runtime on LiteRT.js's WASM accelerator, as `tfmodel run` loads one. */
async function loadTflite(path) {
  const loaded = await loadForRun(path, 'wasm')
  const input = loaded.signature.inputs[0]
  return { bytes: readFileSync(path).byteLength, input, run: (feed) => loaded.run({ [input.name]: feed }), dispose: () => loaded.dispose() }
}

async function loadTfjs(dir) {
  const { model } = await loadGraph(dir)
  const name = model.inputs[0].name
  return {
    run: async (feed) => {
      const x = tf.tensor(feed.data, feed.shape, feed.data instanceof Float32Array ? 'float32' : 'int32')
      const result = model.execute({ [name]: x })
      const tensors = Array.isArray(result) ? result : [result]
      await Promise.all(tensors.map((t) => t.data()))
      tf.dispose([x, ...tensors])
    },
    dispose: () => model.dispose(),
  }
}

/** Random values of the model's input, batch 1 (uint8 images for the detector). */
function feedFor(spec) {
  const size = spec.shape.reduce((a, b) => a * b, 1)
  const data = /int/.test(spec.dtype) ? Uint8Array.from({ length: size }, (_, i) => (i * 37) % 256) : Float32Array.from({ length: size }, (_, i) => ((i * 37) % 256) / 255)
  return { data, shape: spec.shape }
}

/** Runs `sides` (name → loaded model) interleaved, rotating who goes first. */
async function race(sides, feed) {
  const names = Object.keys(sides)
  const times = Object.fromEntries(names.map((n) => [n, []]))
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length]
      const start = performance.now()
      await sides[name].run(feed)
      if (i >= WARMUP) times[name].push(performance.now() - start)
    }
  }
  return Object.fromEntries(names.map((n) => [n, { fastest_ms: Math.min(...times[n]), median_ms: median(times[n]) }]))
}

const models = JSON.parse(readFileSync(join(out, 'tflite', 'models.json'), 'utf8'))
const lib = await import('@litertjs/core')
const relaxed = await lib.supportsFeature('relaxedSimd')
console.log(`LiteRT.js ${relaxed ? 'relaxed-SIMD' : 'compat'} build, tfjs-backend-wasm, 1 thread, batch 1, ${WARMUP} warm-ups + ${RUNS} runs, interleaved`)
const results = []
const ms = (t) => `${t.fastest_ms.toFixed(2)}/${t.median_ms.toFixed(2)}`
for (const [name, spec] of Object.entries(models)) {
  for (const [mode, files] of Object.entries(spec.tflite)) {
    const sides = { ours: await loadTflite(files.ours), theirs: await loadTflite(files.theirs) }
    if ((mode === 'float32' || mode === 'int8-full') && spec.tfjs_theirs) sides.tfjs_theirs = await loadTfjs(spec.tfjs_theirs)
    const feed = feedFor({ shape: spec.shape, dtype: sides.ours.input.dtype })
    const times = await race(sides, feed)
    const row = { model: name, mode, bytes: { ours: sides.ours.bytes, theirs: sides.theirs.bytes }, ...times }
    if (files.convert_seconds) row.convert_seconds = { ...files.convert_seconds, ratio: files.convert_seconds.ours / files.convert_seconds.theirs }
    row.ratio_fastest = times.ours.fastest_ms / times.theirs.fastest_ms
    row.ratio_median = times.ours.median_ms / times.theirs.median_ms
    let line = `${name.padEnd(15)} ${mode.padEnd(9)} ours ${ms(times.ours)} ms, TFLiteConverter's ${ms(times.theirs)} ms: ${row.ratio_fastest.toFixed(2)}x fastest, ${row.ratio_median.toFixed(2)}x median`
    if (times.tfjs_theirs) {
      row.ratio_vs_tfjs_fastest = times.ours.fastest_ms / times.tfjs_theirs.fastest_ms
      row.ratio_vs_tfjs_median = times.ours.median_ms / times.tfjs_theirs.median_ms
      line += `; tensorflowjs_converter's TF.js ${ms(times.tfjs_theirs)} ms: ${row.ratio_vs_tfjs_fastest.toFixed(2)}x fastest`
    }
    console.log(line)
    for (const side of Object.values(sides)) side.dispose()
    results.push(row)
  }
}
writeFileSync(join(out, 'tflite.json'), `${JSON.stringify({ litert_build: relaxed ? 'relaxedSimd' : 'compat', warmup: WARMUP, runs: RUNS, results }, null, 2)}\n`)

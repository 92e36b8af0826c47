// TF.js inference, ours against tensorflowjs_converter's graph model of the
// same frozen graph (both built by bench/tfjs_models.py): batch 1, on
// tfjs-backend-wasm (one thread) and tfjs-backend-cpu in Node. Both models
// live in one process and run interleaved, because one process to the next
// varies far more than two models in one; 20 warm-up runs each, then 30
// timed runs each. Reports fastest and median, and ours ÷ theirs (below 1
// is faster), with each graph's node count; writes bench/out/tfjs.json.
import '@tensorflow/tfjs-backend-cpu'

import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import * as tf from '@tensorflow/tfjs-core'

import { loadGraph as load, median, out, RUNS, WARMUP } from './inference.js'

function feed(model, shape) {
  const [input] = model.inputs
  const dtype = input.dtype === 'float32' ? 'float32' : 'int32'
  const values = tf.randomUniform(shape, 0, dtype === 'int32' ? 255 : 1, dtype === 'int32' ? 'int32' : 'float32', 1)
  return { [input.name]: values }
}

// execute() where the graph allows it (TF.js warns on every needless executeAsync).
async function once(model, inputs) {
  const start = performance.now()
  const result = model.dynamic ? await model.executeAsync(inputs) : model.execute(inputs)
  const tensors = Array.isArray(result) ? result : [result]
  await Promise.all(tensors.map((t) => t.data()))
  const elapsed = performance.now() - start
  tf.dispose(tensors)
  return elapsed
}

const models = JSON.parse(readFileSync(join(out, 'tfjs', 'models.json'), 'utf8'))
const results = []
for (const backend of ['wasm', 'cpu']) {
  await tf.setBackend(backend)
  for (const [name, spec] of Object.entries(models)) {
    const sides = { ours: await load(spec.ours), theirs: await load(spec.theirs) }
    const inputs = feed(sides.ours.model, spec.input)
    const times = { ours: [], theirs: [] }
    for (let i = 0; i < WARMUP + RUNS; i++) {
      for (const side of i % 2 ? ['ours', 'theirs'] : ['theirs', 'ours']) {
        const ms = await once(sides[side].model, inputs)
        if (i >= WARMUP) times[side].push(ms)
      }
    }
    const row = { backend, model: name }
    for (const side of ['ours', 'theirs']) {
      row[side] = { nodes: sides[side].nodes, fastest_ms: Math.min(...times[side]), median_ms: median(times[side]) }
      sides[side].model.dispose()
    }
    row.ratio_fastest = row.ours.fastest_ms / row.theirs.fastest_ms
    row.ratio_median = row.ours.median_ms / row.theirs.median_ms
    tf.dispose(Object.values(inputs))
    results.push(row)
    console.log(
      `${backend.padEnd(4)} ${name.padEnd(13)} nodes ${row.ours.nodes}/${row.theirs.nodes}  ` +
        `fastest ${row.ours.fastest_ms.toFixed(2)}/${row.theirs.fastest_ms.toFixed(2)} ms (${row.ratio_fastest.toFixed(2)}x)  ` +
        `median ${row.ours.median_ms.toFixed(2)}/${row.theirs.median_ms.toFixed(2)} ms (${row.ratio_median.toFixed(2)}x)`,
    )
  }
}
writeFileSync(join(out, 'tfjs.json'), `${JSON.stringify({ warmup: WARMUP, runs: RUNS, results }, null, 2)}\n`)

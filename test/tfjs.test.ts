// Emitted TF.js models, run by TensorFlow.js itself, against TensorFlow's
// stored outputs for the fixtures.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

import { convert, type ConvertResult } from '../src/native.js'
import { fixture, type JsonTensor, manifest, readJson } from './fixtures.js'
import { type Backend, floats, iou, loadGraph, maxRelativeError, run, tf } from './tfjs-loader.js'

interface IoFile {
  inputs: Record<string, JsonTensor>
  outputs: Record<string, JsonTensor>
}

async function convertFixture(name: string, quantize?: string): Promise<{ dir: string; result: ConvertResult }> {
  const spec = fixture(name)
  const dir = mkdtempSync(join(tmpdir(), `tfmodel-tfjs-${name}-`))
  const result = await convert({
    source: spec.path(spec.checkpoint ?? spec.graph!),
    inputGraph: spec.meta ? undefined : spec.graph ? spec.path(spec.graph) : undefined,
    outputNodeNames: spec.output_node_names,
    quantize,
    outputDir: dir,
  })
  return { dir, result }
}

const runnable = Object.keys(manifest.fixtures).filter((name) => {
  const spec = manifest.fixtures[name]!
  return spec.io && spec.output_node_names.length > 0
})

const backends: Backend[] = ['cpu', 'wasm']

describe('float32 models match TensorFlow within 1e-4 relative', () => {
  it.each(runnable.flatMap((name) => backends.map((backend) => [name, backend] as const)))('%s (%s)', async (name, backend) => {
    const spec = fixture(name)
    const { dir } = await convertFixture(name)
    const { model } = await loadGraph(join(dir, 'model.json'), backend)
    const io = readJson<IoFile>(spec.path(spec.io!))
    const outputs = await run(model, io.inputs, Object.keys(io.outputs))
    for (const [output, expected] of Object.entries(io.outputs)) {
      expect(maxRelativeError(outputs[output]!, floats(expected)), `${name}: ${output}`).toBeLessThan(1e-4)
    }
    model.dispose()
  })
})

describe('quantized weights decode in TF.js within the error the report states', () => {
  it.each(['uint8', 'float16', 'int8'])('%s (convnet and detector)', async (mode) => {
    for (const name of ['convnet', 'detector']) {
      const float = await loadGraph(join((await convertFixture(name)).dir, 'model.json'))
      const { dir, result } = await convertFixture(name, mode)
      const quantized = await loadGraph(join(dir, 'model.json'))
      const report = result.quantization!
      expect(report.tensors.length, `${name} ${mode}: tensors quantized`).toBeGreaterThan(0)
      for (const tensor of report.tensors) {
        const original = float.weights[tensor.name]!.dataSync() as Float32Array
        const decoded = quantized.weights[tensor.name]!.dataSync() as Float32Array
        let worst = 0
        for (let i = 0; i < original.length; i++) worst = Math.max(worst, Math.abs(decoded[i]! - original[i]!))
        // The report's error is what TF.js decodes: equal up to float32 rounding.
        expect(worst, `${name} ${mode} ${tensor.name}`).toBeLessThanOrEqual(tensor.maxAbsError * (1 + 1e-6) + 1e-7)
        expect(worst, `${name} ${mode} ${tensor.name}`).toBeGreaterThanOrEqual(tensor.maxAbsError * (1 - 1e-3) - 1e-7)
      }
      float.model.dispose()
      quantized.model.dispose()
    }
  })
})

describe('quantized models keep what the models do', () => {
  const modes = ['uint8', 'int8', 'float16'].flatMap((mode) => backends.map((backend) => [mode, backend] as const))

  it.each(modes)('the classifier keeps its held-out accuracy within 1 point (%s, %s)', async (mode, backend) => {
    const spec = fixture('convnet')
    const heldout = readJson<{ inputs: Record<string, JsonTensor>; labels: JsonTensor; accuracy: number }>(spec.path('heldout.json'))
    const labelBytes = Buffer.from(heldout.labels.data as string, 'base64')
    const labels = new Int32Array(labelBytes.buffer.slice(labelBytes.byteOffset, labelBytes.byteOffset + labelBytes.byteLength))
    const { dir } = await convertFixture('convnet', mode)
    const { model } = await loadGraph(join(dir, 'model.json'), backend)
    const { probs } = await run(model, heldout.inputs, ['probs'])
    const classes = probs!.length / labels.length
    let correct = 0
    for (let i = 0; i < labels.length; i++) {
      const row = Array.from(probs!.subarray(i * classes, (i + 1) * classes))
      if (row.indexOf(Math.max(...row)) === labels[i]) correct++
    }
    const accuracy = correct / labels.length
    expect(accuracy, `TensorFlow's held-out accuracy is ${heldout.accuracy}`).toBeGreaterThanOrEqual(heldout.accuracy - 0.01)
    model.dispose()
  })

  it.each(modes)('the detector keeps its top detections: IoU >= 0.9, same class (%s, %s)', async (mode, backend) => {
    const spec = fixture('detector')
    const images = readJson<{ input: JsonTensor; outputs: Record<string, JsonTensor> }[]>(spec.path('images.json'))
    const { dir, result } = await convertFixture('detector', mode)
    expect(result.executeAsync).toBe(true)
    const { model } = await loadGraph(join(dir, 'model.json'), backend)
    for (const [index, image] of images.entries()) {
      const names = ['detection_boxes', 'detection_scores', 'detection_classes', 'num_detections']
      const ours = await run(model, { image_tensor: image.input }, names)
      const boxes = floats(image.outputs.detection_boxes!)
      const scores = floats(image.outputs.detection_scores!)
      const classes = floats(image.outputs.detection_classes!)
      const count = floats(image.outputs.num_detections!)[0]!
      expect(count, `image ${index}: TensorFlow found something`).toBeGreaterThan(0)
      for (let d = 0; d < count; d++) {
        if (scores[d]! < 0.5) continue
        const match = [...Array(ours.num_detections![0]!).keys()].some(
          (k) => ours.detection_classes![k] === classes[d] && iou(ours.detection_boxes!.subarray(4 * k, 4 * k + 4), boxes.subarray(4 * d, 4 * d + 4)) >= 0.9,
        )
        expect(match, `image ${index}: detection ${d} (class ${classes[d]})`).toBe(true)
      }
    }
    model.dispose()
  })
})

describe('sizes', () => {
  it('uint8 weights take at most 26% of the float32 weights', async () => {
    for (const name of ['detector']) {
      const float = await convertFixture(name)
      const quantized = await convertFixture(name, 'uint8')
      expect(Number(quantized.result.weightBytes) / Number(float.result.weightBytes), name).toBeLessThanOrEqual(0.26)
    }
  })
})

describe('op check', () => {
  it('says the detector needs executeAsync and the classifier does not', async () => {
    expect((await convertFixture('detector')).result.dynamicOps).toContain('NonMaxSuppressionV3')
    expect((await convertFixture('convnet')).result.executeAsync).toBe(false)
  })

  it('TF.js cannot run our float model without executeAsync when the report says it needs it', async () => {
    const { dir } = await convertFixture('detector')
    const { model } = await loadGraph(join(dir, 'model.json'))
    const image = readJson<{ input: JsonTensor }[]>(fixture('detector').path('images.json'))[0]!
    const input = tf.tensor(Int32Array.from(Buffer.from(image.input.data as string, 'base64')), image.input.shape, 'int32')
    expect(() => model.execute({ image_tensor: input }, ['detection_boxes'])).toThrow(/executeAsync/)
    input.dispose()
    model.dispose()
  })
})

describe('graph size', () => {
  // Counted from tensorflowjs_converter 4.22's models of TensorFlow's frozen
  // graphs by scripts/record-tfjs-converter-nodes.py (command in the file).
  const peer = readJson<{ fixtures: Record<string, { nodes: number; unrunnable_fusions: number; command: string }> }>(
    join(import.meta.dirname, 'tfjs-converter-nodes.json'),
  )

  it.each(Object.keys(peer.fixtures))('%s has no more nodes than tensorflowjs_converter makes', async (name) => {
    const { dir } = await convertFixture(name)
    const { json } = await loadGraph(join(dir, 'model.json'))
    const topology = json.modelTopology as { node: unknown[]; library?: { function?: { nodeDef?: unknown[] }[] } }
    const nodes = topology.node.length + (topology.library?.function ?? []).reduce((n, f) => n + (f.nodeDef?.length ?? 0), 0)
    // A fusion TF.js cannot run (Tanh) saved the peer a node it cannot use.
    const { nodes: theirs, unrunnable_fusions: unrunnable, command } = peer.fixtures[name]!
    expect(nodes, command).toBeLessThanOrEqual(theirs + unrunnable)
  })

  it('the classifier runs fused kernels', async () => {
    const { dir } = await convertFixture('convnet')
    const { json } = await loadGraph(join(dir, 'model.json'))
    const ops = (json.modelTopology as { node: { op: string }[] }).node.map((n) => n.op)
    expect(ops).toEqual(expect.arrayContaining(['_FusedConv2D', 'FusedDepthwiseConv2dNative', '_FusedMatMul']))
    expect(ops).not.toContain('BiasAdd')
  })

  it('the Keras model runs every activation inside a fused kernel', async () => {
    const { dir } = await convertFixture('keras_activations')
    const { json } = await loadGraph(join(dir, 'model.json'))
    type Node = { op: string; attr?: { fused_ops?: { list?: { s?: string[] } } } }
    const nodes = (json.modelTopology as { node: Node[] }).node
    const fused = nodes.flatMap((n) => (n.attr?.fused_ops?.list?.s ?? []).map((s) => `${n.op}:${Buffer.from(s, 'base64').toString()}`))
    for (const op of ['_FusedConv2D', 'FusedDepthwiseConv2dNative', '_FusedMatMul']) {
      expect(fused, op).toContain(`${op}:BiasAdd`)
    }
    for (const fusion of ['_FusedConv2D:Prelu', '_FusedConv2D:Elu', '_FusedConv2D:LeakyRelu', 'FusedDepthwiseConv2dNative:Sigmoid', '_FusedMatMul:Sigmoid', '_FusedMatMul:Elu', '_FusedMatMul:LeakyRelu', '_FusedMatMul:Prelu']) {
      expect(fused, fusion).toContain(fusion)
    }
    expect(nodes.map((n) => n.op)).not.toEqual(expect.arrayContaining(['BiasAdd']))
    expect(nodes.filter((n) => ['Elu', 'Sigmoid', 'Prelu', 'Relu'].includes(n.op)).map((n) => n.op)).toEqual([])
  })
})

// Real training scripts' checkpoints (fixtures/training, written by
// TensorFlow 2.21 with losses, optimizers, metrics, summaries, input
// pipelines and training switches still in the graph), imported the way a
// user first does: the training directory, no directives. Each must convert
// to exactly its prediction outputs and real inputs, and TF.js must compute
// what TensorFlow computed in inference mode.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

import { convert, type ConvertRequest, isTfModelError } from '../src/native.js'
import { fixturesDir, type JsonTensor, readJson } from './fixtures.js'
import { floats, loadGraph, maxRelativeError, run } from './tfjs-loader.js'

interface TrainingFixture {
  source: string
  outputs: string[]
  inputs: string[]
  fixed: Record<string, boolean | number>
  io: string[]
  io_ema?: string
  input_dtypes?: Record<string, string>
  input_shapes?: Record<string, number[]>
  /** Converting without directives must fail so; `outputs` converts. */
  error?: { code: string; inferred: string[]; failing: string; outputs_to_name: string[] }
}

interface IoFile {
  inputs: Record<string, JsonTensor>
  outputs: Record<string, JsonTensor>
}

const root = join(fixturesDir, 'training')
const fixtures = readJson<{ fixtures: Record<string, TrainingFixture> }>(join(root, 'manifest.json')).fixtures


async function convertFixture(name: string, extra: Partial<ConvertRequest> = {}) {
  const outputDir = mkdtempSync(join(tmpdir(), `tfmodel-training-${name}-`))
  const result = await convert({ source: join(root, name, fixtures[name]!.source), outputDir, ...extra })
  return { result, outputDir }
}

async function expectTensorFlowsOutputs(name: string, outputDir: string, ioFile: string, outputs: string[]) {
  const { model } = await loadGraph(join(outputDir, 'model.json'))
  const io = readJson<IoFile>(join(root, name, ioFile))
  const ours = await run(model, io.inputs, outputs)
  for (const output of outputs) {
    expect(maxRelativeError(ours[output]!, floats(io.outputs[output]!)), `${name} ${ioFile}: ${output}`).toBeLessThan(1e-4)
  }
  model.dispose()
  return ours
}

// These tests convert to TF.js; test/parity.py runs the .pb of those whose pb converts.
const supported = Object.keys(fixtures).filter((name) => !fixtures[name]!.error)
const failing = Object.keys(fixtures).filter((name) => fixtures[name]!.error)

describe('a training directory converts to its prediction heads, and TF.js computes what TensorFlow did', () => {
  it.each(supported)('%s', async (name) => {
    const spec = fixtures[name]!
    const { result, outputDir } = await convertFixture(name)
    expect(result.signature.outputs.map((o) => o.name), 'outputs').toEqual(spec.outputs)
    expect(result.signature.inputs.map((i) => i.name), 'inputs (no labels, switches or keep_prob)').toEqual(spec.inputs)
    for (const flag of Object.keys(spec.fixed)) {
      expect(result.applied.some((line) => line.startsWith(`fixed training flag ${flag} to ${String(spec.fixed[flag])}`)), `${flag} fixed`).toBe(true)
    }
    for (const [input, dtype] of Object.entries(spec.input_dtypes ?? {})) {
      const signature = result.signature.inputs.find((i) => i.name === input)!
      expect([signature.dtype, signature.shape], input).toEqual([dtype, spec.input_shapes?.[input] ?? signature.shape])
    }
    for (const ioFile of spec.io) await expectTensorFlowsOutputs(name, outputDir, ioFile, spec.outputs)
  })
})

describe('inferred outputs that cannot be converted say which, and what to name instead', () => {
  it.each(failing)('%s', async (name) => {
    const spec = fixtures[name]!
    const want = spec.error!
    const error = await convertFixture(name).catch((e: unknown) => e)
    expect(isTfModelError(error) && error.code, String(error)).toBe(want.code)
    const message = (error as Error).message
    expect(message).toContain(`needed by the inferred output "${want.failing}"`)
    for (const output of want.inferred) expect(message).toContain(`${output} (`)
    expect((error as { outputsToName: string[] }).outputsToName).toEqual(want.outputs_to_name)
    const { result, outputDir } = await convertFixture(name, { outputNodeNames: want.outputs_to_name })
    expect(result.signature.outputs.map((o) => o.name)).toEqual(spec.outputs)
    for (const ioFile of spec.io) await expectTensorFlowsOutputs(name, outputDir, ioFile, spec.outputs)
  })
})

describe('training switches resolve to inference', () => {
  it('the v1 batch norm holds no Switch, Merge or If after conversion, and no FusedBatchNorm after optimization', async () => {
    const { outputDir } = await convertFixture('batchnorm_switch_v1')
    const json = JSON.parse(readFileSync(join(outputDir, 'model.json'), 'utf8')) as { modelTopology: { node: { op: string }[] } }
    const ops = new Set(json.modelTopology.node.map((n) => n.op))
    for (const op of ['Switch', 'Merge', 'If', 'StatelessIf', 'FusedBatchNorm', 'FusedBatchNormV3']) expect(ops.has(op), op).toBe(false)
  })

  it('is_training can still be fixed to true on request', async () => {
    const { result } = await convertFixture('batchnorm_switch_v1', { placeholderToConstNames: ['is_training=true'] })
    expect(result.applied).toContain('fixed training flag is_training to true (as asked)')
  })

  it('dropout at keep_prob 1 leaves the graph: no random ops for TF.js to run or TFLite to refuse', async () => {
    const { result, outputDir } = await convertFixture('dropout_keep_prob', {})
    expect(result.applied).toContain('removed dropout dropout/SelectV2, which keeps everything at keep_prob 1')
    const json = readJson<{ modelTopology: { node: { op: string }[] } }>(join(outputDir, 'model.json'))
    const ops = json.modelTopology.node.map((n) => n.op)
    for (const op of ['RandomUniform', 'GreaterEqual', 'SelectV2', 'RealDiv']) expect(ops, op).not.toContain(op)
  })

  it('keep_prob takes a float value on request', async () => {
    const { result } = await convertFixture('dropout_keep_prob', { placeholderToConstNames: ['keep_prob=0.5'] })
    expect(result.applied).toContain('fixed training flag keep_prob to 0.5 (as asked)')
    // Then the dropout is live, and stays.
    expect(result.applied.some((line) => line.startsWith('removed dropout'))).toBe(false)
  })
})

describe('input_names', () => {
  it('naming inputs that leave a needed placeholder unfed is refused, naming it', async () => {
    const error = await convertFixture('lstm_seqlen_v1', { inputNames: ['x'] }).catch((e: unknown) => e)
    expect(isTfModelError(error) && error.code).toBe('INVALID_ARGUMENT')
    expect((error as Error).message).toMatch(/still need placeholder "seq_len" besides input_names \(x\)/)
  })
})

describe('exponential moving averages', () => {
  it('useEma freezes the shadow variables: TensorFlow outputs restored with ema.variables_to_restore()', async () => {
    const spec = fixtures.ema!
    const raw = await convertFixture('ema')
    const ema = await convertFixture('ema', { useEma: true })
    const shadowed = await expectTensorFlowsOutputs('ema', ema.outputDir, spec.io_ema!, spec.outputs)
    // The fixture tells the two apart: the raw weights do not give the EMA outputs.
    const io = readJson<IoFile>(join(root, 'ema', spec.io_ema!))
    const { model } = await loadGraph(join(raw.outputDir, 'model.json'))
    const plain = await run(model, io.inputs, spec.outputs)
    expect(maxRelativeError(plain.probs!, floats(io.outputs.probs!))).toBeGreaterThan(1e-3)
    expect(maxRelativeError(shadowed.probs!, floats(io.outputs.probs!))).toBeLessThan(1e-4)
    model.dispose()
  })

  it('useEma on a checkpoint without shadows names the variables that lack one', async () => {
    const error = await convertFixture('classifier_loss', { useEma: true }).catch((e: unknown) => e)
    expect(isTfModelError(error) && error.code).toBe('VARIABLE_MISSING')
    expect((error as Error).message).toMatch(/use_ema: the checkpoint has no moving average for variables .*ExponentialMovingAverage/)
  })
})

describe('TF2 loops that fill a TensorList', () => {
  it('run in TF.js as TF1 frames, while the .pb keeps TensorFlow\'s functional loop', async () => {
    const { result, outputDir } = await convertFixture('lstm_seqlen_v2')
    expect(result.applied.some((line) => /^lowered 1 while loop that fill a TensorList to TF1 frames/.test(line)), result.applied.join('\n')).toBe(true)
    const json = JSON.parse(readFileSync(join(outputDir, 'model.json'), 'utf8')) as { modelTopology: { node: { op: string }[]; library?: { function?: unknown[] } } }
    const ops = new Set(json.modelTopology.node.map((n) => n.op))
    for (const op of ['Enter', 'Merge', 'Switch', 'LoopCond', 'NextIteration', 'Exit', 'TensorListSetItem']) expect(ops.has(op), op).toBe(true)
    expect(ops.has('StatelessWhile')).toBe(false)
    expect(json.modelTopology.library?.function ?? []).toEqual([])
    // TF.js's outputs against TensorFlow's are checked with the other training directories above.
    const pb = await convertFixture('lstm_seqlen_v2', { format: 'pb' })
    expect(pb.result.applied.some((line) => line.startsWith('lowered'))).toBe(false)
  })
})

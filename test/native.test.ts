// The napi binding: values and errors as JavaScript sees them.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

import { errorCodes, freeze, inspect, isTfModelError, readTensor, type TfModelError } from '../src/native.js'
import { copyFixture, fixture, type JsonTensor, manifest, readJson, tensorBytes } from './fixtures.js'

async function failure(promise: Promise<unknown>): Promise<TfModelError> {
  try {
    await promise
  } catch (error) {
    if (isTfModelError(error)) return error
    throw error
  }
  throw new Error('expected the call to fail')
}

describe('inspect and readTensor', () => {
  const withTensors = Object.keys(manifest.fixtures).filter((name) => manifest.fixtures[name]!.tensors)

  it.each(withTensors)('%s: every tensor equals what TensorFlow read', async (name) => {
    const spec = fixture(name)
    const expected = readJson<{ tensors: Record<string, JsonTensor> }>(spec.path(spec.tensors!)).tensors
    const info = await inspect(spec.path(spec.checkpoint!))
    expect(info.tensors.map((t) => t.name).sort()).toEqual(Object.keys(expected).sort())
    for (const tensor of info.tensors) {
      const want = expected[tensor.name]!
      const value = await readTensor(spec.path(spec.checkpoint!), tensor.name)
      expect({ name: tensor.name, dtype: value.dtype, shape: value.shape }).toEqual({
        name: tensor.name,
        dtype: want.dtype,
        shape: want.shape,
      })
      if (want.dtype === 'string') {
        expect(value.strings!.map((s) => s.toString('base64'))).toEqual(want.data)
      } else {
        expect(Buffer.compare(value.data!, tensorBytes(want))).toBe(0)
      }
    }
  })

  it('a training directory resolves to the checkpoint its state file names, not the last as text', async () => {
    const spec = fixture('train_dir')
    const info = await inspect(spec.dir)
    expect(info.prefix).toBe(spec.path(spec.checkpoint!))
    expect(spec.checkpoint).toMatch(/-1000$/)
  })
})

describe('errors reach JavaScript with a stable code and the file at fault', () => {
  it('lists the codes the README documents', () => {
    const readme = readFileSync(join(fixture('convnet').dir, '..', '..', 'README.md'), 'utf8')
    for (const code of errorCodes()) expect(readme).toContain(`\`${code}\``)
  })

  it('INDEX_TRUNCATED for an empty .index', async () => {
    const dir = copyFixture('convnet')
    truncateSync(join(dir, 'model.ckpt.index'), 0)
    const error = await failure(inspect(join(dir, 'model.ckpt')))
    expect(error.code).toBe('INDEX_TRUNCATED')
    expect(error.file).toBe(join(dir, 'model.ckpt.index'))
    expect(error.message).toContain('model.ckpt.index')
  })

  it('CRC_MISMATCH naming the tensor for a flipped byte in the data', async () => {
    const dir = copyFixture('graph_pair')
    const info = await inspect(join(dir, 'model.ckpt'))
    const victim = info.tensors.find((t) => t.bytes > 0)!
    const data = join(dir, 'model.ckpt.data-00000-of-00001')
    const bytes = readFileSync(data)
    // Flip every byte's low bit: whatever the layout, the victim's bytes change.
    writeFileSync(data, bytes.map((b) => b ^ 1))
    const error = await failure(readTensor(join(dir, 'model.ckpt'), victim.name))
    expect(error.code).toBe('CRC_MISMATCH')
    expect(error.file).toBe(data)
    expect(error.subject).toBe(victim.name)
    expect(error.message).toContain(victim.name)
  })

  it('SHARD_MISSING when a data file of a sharded checkpoint is gone', async () => {
    const dir = copyFixture('partitioned')
    const shard = readdirSync(dir).find((f) => f.includes('.data-00001-of-'))!
    rmSync(join(dir, shard))
    const error = await failure(inspect(join(dir, 'model.ckpt')))
    expect(error.code).toBe('SHARD_MISSING')
    expect(error.file).toBe(join(dir, shard))
  })

  it('TENSOR_NOT_FOUND suggests the closest names', async () => {
    const spec = fixture('graph_pair')
    const info = await inspect(spec.path(spec.checkpoint!))
    const real = info.tensors[0]!.name
    const error = await failure(readTensor(spec.path(spec.checkpoint!), `${real}x`))
    expect(error.code).toBe('TENSOR_NOT_FOUND')
    expect(error.suggestions).toContain(real)
  })

  it('UNKNOWN_NODE for an output written as a tensor name, suggesting the node', async () => {
    const spec = fixture('graph_pair')
    const error = await failure(
      freeze({
        inputGraph: spec.path(spec.graph!),
        inputCheckpoint: spec.path(spec.checkpoint!),
        outputNodeNames: ['model/y_pred:0'],
      }),
    )
    expect(error.code).toBe('UNKNOWN_NODE')
    expect(error.suggestions[0]).toBe('model/y_pred')
    expect(error.file).toBe(spec.path(spec.graph!))
  })

  it('GRAPH_INVALID for a garbage .meta, GRAPH_EMPTY for an empty .pb', async () => {
    const dir = copyFixture('convnet')
    writeFileSync(join(dir, 'model.ckpt.meta'), Buffer.from('this is not a protobuf \xff\xfe\x07'.repeat(20), 'latin1'))
    const garbage = await failure(freeze({ source: join(dir, 'model.ckpt') }))
    expect(garbage.code).toBe('GRAPH_INVALID')
    expect(garbage.file).toBe(join(dir, 'model.ckpt.meta'))

    writeFileSync(join(dir, 'empty.pb'), '')
    const empty = await failure(freeze({ source: join(dir, 'empty.pb') }))
    expect(empty.code).toBe('GRAPH_EMPTY')
    expect(empty.file).toBe(join(dir, 'empty.pb'))
  })

  it('SHAPE_MISMATCH names the variable and both shapes', async () => {
    const spec = fixture('errors/shape_mismatch')
    const error = await failure(freeze({ source: spec.path(spec.checkpoint!), outputNodeNames: spec.output_node_names }))
    expect(error.code).toBe('SHAPE_MISMATCH')
    expect(error.subject).toBeTruthy()
    expect(error.message).toMatch(/\[\d+, \d+\].*\[\d+, \d+\]/)
  })

  it('VARIABLE_MISSING names the variable and the checkpoint', async () => {
    const spec = fixture('errors/missing_variable')
    const error = await failure(freeze({ source: spec.path(spec.checkpoint!), outputNodeNames: spec.output_node_names }))
    expect(error.code).toBe('VARIABLE_MISSING')
    expect(error.file).toBe(spec.path(`${spec.checkpoint}.index`))
    expect(error.message).toContain(error.subject!)
  })

  it('CHECKPOINT_NOT_FOUND when the state file names a missing prefix', async () => {
    const dir = copyFixture('train_dir')
    writeFileSync(join(dir, 'checkpoint'), 'model_checkpoint_path: "model.ckpt-5000"\n')
    const error = await failure(inspect(dir))
    expect(error.code).toBe('CHECKPOINT_NOT_FOUND')
    expect(error.file).toBe(join(dir, 'checkpoint'))
    expect(error.message).toContain('model.ckpt-5000')
  })

  it('a failed freeze writes nothing', async () => {
    const dir = copyFixture('convnet')
    const output = join(dir, 'out', 'frozen.pb')
    const error = await failure(
      freeze({ source: join(dir, 'model.ckpt'), outputGraph: join(dir, 'frozen.pb'), outputNodeNames: ['nope'] }),
    )
    expect(error.code).toBe('UNKNOWN_NODE')
    expect(existsSync(join(dir, 'frozen.pb'))).toBe(false)
    expect(existsSync(output)).toBe(false)
    expect(readdirSync(dir).filter((f) => f.includes('frozen.pb'))).toEqual([])
  })
})

describe('every corrupt input fails freezing with its own code, naming the file, writing nothing', () => {
  type Damage = (dir: string) => string | void
  const cases: [string, string, Damage, string][] = [
    ['empty .index', 'INDEX_TRUNCATED', (d) => truncateSync(join(d, 'model.ckpt.index'), 0), 'model.ckpt.index'],
    ['truncated .index', 'INDEX_TRUNCATED', (d) => truncateSync(join(d, 'model.ckpt.index'), 30), 'model.ckpt.index'],
    ['empty data file', 'SHARD_TRUNCATED', (d) => truncateSync(join(d, 'model.ckpt.data-00000-of-00001'), 0), 'model.ckpt.data-00000-of-00001'],
    ['truncated data file', 'SHARD_TRUNCATED', (d) => truncateSync(join(d, 'model.ckpt.data-00000-of-00001'), 100), 'model.ckpt.data-00000-of-00001'],
    [
      'a flipped byte inside a tensor',
      'CRC_MISMATCH',
      (d) => {
        const file = join(d, 'model.ckpt.data-00000-of-00001')
        const bytes = readFileSync(file)
        bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x40
        writeFileSync(file, bytes)
      },
      'model.ckpt.data-00000-of-00001',
    ],
    ['a missing .index (checkpoint gone)', 'FILE_NOT_FOUND', (d) => rmSync(join(d, 'model.ckpt.index')), 'model.ckpt'],
    ['an empty .pb', 'GRAPH_EMPTY', (d) => truncateSync(join(d, 'graph.pb'), 0), 'graph.pb'],
    ['a garbage .pb', 'GRAPH_INVALID', (d) => writeFileSync(join(d, 'graph.pb'), Buffer.alloc(64, 0xff)), 'graph.pb'],
  ]

  it.each(cases)('%s → %s', async (_label, code, damage, culprit) => {
    const dir = copyFixture('graph_pair')
    damage(dir)
    const output = join(dir, 'out', 'frozen.pb')
    mkdirSync(join(dir, 'out'))
    const error = await failure(
      freeze({
        inputGraph: join(dir, 'graph.pb'),
        inputBinary: true,
        inputCheckpoint: join(dir, 'model.ckpt'),
        outputNodeNames: fixture('graph_pair').output_node_names,
        outputGraph: output,
      }),
    )
    expect(error.code).toBe(code)
    expect(error.file).toBe(join(dir, culprit))
    expect(error.message).toContain(culprit)
    if (code === 'CRC_MISMATCH') expect(error.message).toContain(`"${error.subject}"`)
    expect(readdirSync(join(dir, 'out'))).toEqual([])
  })

  it.each([
    ['errors/shape_mismatch', 'SHAPE_MISMATCH'],
    ['errors/missing_variable', 'VARIABLE_MISSING'],
  ])('%s → %s', async (name, code) => {
    const dir = copyFixture(name)
    mkdirSync(join(dir, 'out'))
    const error = await failure(
      freeze({ source: join(dir, 'model.ckpt'), outputNodeNames: fixture(name).output_node_names, outputGraph: join(dir, 'out', 'frozen.pb') }),
    )
    expect(error.code).toBe(code)
    expect(error.file).toMatch(/model\.ckpt\.(meta|index)$/)
    expect(readdirSync(join(dir, 'out'))).toEqual([])
  })

  it('a missing shard of a sharded checkpoint → SHARD_MISSING', async () => {
    const dir = copyFixture('partitioned')
    rmSync(join(dir, 'model.ckpt.data-00002-of-00003'))
    mkdirSync(join(dir, 'out'))
    const error = await failure(freeze({ source: join(dir, 'model.ckpt'), outputGraph: join(dir, 'out', 'frozen.pb') }))
    expect(error.code).toBe('SHARD_MISSING')
    expect(error.file).toBe(join(dir, 'model.ckpt.data-00002-of-00003'))
    expect(readdirSync(join(dir, 'out'))).toEqual([])
  })
})

// SavedModels (fixtures/saved_model/, written by TensorFlow): each signature
// converted and run by TensorFlow.js against the outputs TensorFlow's loaded
// signature returned, under the signature's own input and output names.
import { cpSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

import { main } from '../src/cli/index.js'
import { convert, identifySource, inspectSavedModel, isTfModelError } from '../src/native.js'
import { parseDirectives } from '../src/plugin/directives.js'
import { resolveModelImport } from '../src/plugin/model-request.js'
import { buildApp, outDirFor } from './bundlers.js'
import { type JsonTensor, readJson } from './fixtures.js'
import { type Backend, loadGraph, maxRelativeError, run, toTensor } from './tfjs-loader.js'

const SAVED_MODELS = resolve(import.meta.dirname, '../fixtures/saved_model')

interface SavedModelManifest {
  fixtures: Record<
    string,
    {
      saved_model: string
      signatures: Record<string, string>
      checkpoints?: { dir: string; io: Record<string, string> }
      /** More inputs for serving_default (another branch of a tf.cond). */
      extra_io?: string[]
      /** Nodes (functions' included) of TensorFlow's convert_variables_to_constants_v2 output. */
      tf_frozen_node_count?: number
      /** The signatures of meta graphs other than the one tagged serve, by tag set (`serve,gpu`). */
      tag_sets?: Record<string, Record<string, string>>
    }
  >
}

interface IoFile {
  inputs: Record<string, JsonTensor>
  outputs: Record<string, JsonTensor>
}

const manifest = readJson<SavedModelManifest>(join(SAVED_MODELS, 'manifest.json'))
const cases = Object.entries(manifest.fixtures).flatMap(([name, spec]) => [
  ...Object.entries(spec.signatures).map(([signature, io]) => ({ name, dir: join(SAVED_MODELS, spec.saved_model), signature, io, tags: undefined })),
  ...Object.entries(spec.tag_sets ?? {}).flatMap(([tags, signatures]) =>
    Object.entries(signatures).map(([signature, io]) => ({ name: `${name} [${tags}]`, dir: join(SAVED_MODELS, spec.saved_model), signature, io, tags: tags.split(',') })),
  ),
])
const backends: Backend[] = ['cpu', 'wasm']

describe('SavedModel signatures match TensorFlow within 1e-4 relative', () => {
  it.each(cases.flatMap((c) => backends.map((backend) => [`${c.name} ${c.signature}`, backend, c] as const)))('%s (%s)', async (_, backend, c) => {
    const out = mkdtempSync(join(tmpdir(), `tfmodel-savedmodel-${c.name}-`))
    const result = await convert({ source: c.dir, signatureName: c.signature, savedModelTags: c.tags, outputDir: out })
    const io = readJson<IoFile>(join(c.dir, c.io))
    // The names TensorFlow's signature takes and returns, not the graph's.
    expect(result.signature.inputs.map((i) => i.name).sort()).toEqual(Object.keys(io.inputs).sort())
    expect(result.signature.outputs.map((o) => o.name).sort()).toEqual(Object.keys(io.outputs).sort())
    const { model } = await loadGraph(join(out, 'model.json'), backend)
    const outputs = await run(model, io.inputs, Object.keys(io.outputs))
    for (const [output, expected] of Object.entries(io.outputs)) {
      const want = toTensor(expected).dataSync()
      expect(outputs[output]!.length, output).toBe(want.length)
      expect(maxRelativeError(outputs[output]!, want as ArrayLike<number>), `${c.name}: ${output}`).toBeLessThan(1e-4)
    }
    model.dispose()
  })
})

describe('no more nodes than TensorFlow\'s freezer leaves (convert_variables_to_constants_v2, functions included)', () => {
  // The .pb's count is checked by test/parity.py, which reads the graph with TensorFlow.
  it.each(Object.entries(manifest.fixtures))('%s: the TF.js graph', async (name, spec) => {
    const out = mkdtempSync(join(tmpdir(), `tfmodel-count-${name}-`))
    await convert({ source: join(SAVED_MODELS, spec.saved_model), outputDir: out })
    const { modelTopology } = readJson<{ modelTopology: { node: unknown[]; library?: { function?: { nodeDef?: unknown[] }[] } } }>(join(out, 'model.json'))
    const ours = modelTopology.node.length + (modelTopology.library?.function ?? []).reduce((sum, f) => sum + (f.nodeDef?.length ?? 0), 0)
    console.log(`${name}: TF.js ${ours} nodes, TensorFlow's freezer ${spec.tf_frozen_node_count}`)
    expect(ours).toBeLessThanOrEqual(spec.tf_frozen_node_count!)
  })
})

describe('SavedModel sources', () => {
  it('a SavedModel directory is an import of kind saved_model, with signature= as a directive', () => {
    const dir = join(SAVED_MODELS, 'module')
    expect(identifySource(dir)).toEqual({ kind: 'saved_model', source: dir })
    expect(resolveModelImport('./module?signature=embed', join(SAVED_MODELS, 'app.ts'), SAVED_MODELS)).toEqual({ source: dir, query: 'signature=embed' })
    expect(parseDirectives('signature=embed&quantize')).toEqual({ signature: 'embed', quantize: 'uint8' })
  })

  it('tags= picks the meta graph of that tag set, in the plugin and the CLI, and a set it lacks lists the ones there', async () => {
    expect(parseDirectives('tags=serve,gpu')).toEqual({ tags: ['serve', 'gpu'] })
    expect(() => parseDirectives('tags=serve,')).toThrow(/directive "tags" needs a SavedModel tag set/)
    const app = outDirFor('tags-directive')
    writeFileSync(join(app, 'main.js'), `export { default as cpu } from '${join(SAVED_MODELS, 'tagged')}'\nexport { default as gpu } from '${join(SAVED_MODELS, 'tagged')}?tags=serve,gpu'\n`)
    await buildApp('vite', app, join(app, 'main.js'), join(app, 'dist'), { dts: false, cacheDir: false })
    const assets = join(app, 'dist', 'assets')
    const outputs = readdirSync(assets)
      .filter((f) => f.endsWith('.json'))
      .map((f) => Object.keys(readJson<{ signature: { outputs: Record<string, unknown> } }>(join(assets, f)).signature.outputs))
    expect(outputs.sort()).toEqual([['scaled'], ['y']])
    const lines: string[] = []
    expect(await main(['inspect', join(SAVED_MODELS, 'tagged'), '--saved_model_tags', 'gpu,serve'], (l) => lines.push(l))).toBe(0)
    expect(lines[0]).toBe('meta graph "serve,gpu" (tag sets: "serve", "serve,gpu"):')
    expect(lines.some((l) => l.includes('output  scaled: float32'))).toBe(true)
    const errors: string[] = []
    expect(await main(['convert', join(SAVED_MODELS, 'tagged'), join(app, 'cli'), '--saved_model_tags', 'train'], () => {}, (l) => errors.push(l))).toBe(1)
    expect(errors.join('\n')).toMatch(/UNKNOWN_SIGNATURE: .*no meta graph tagged "train"; its tag sets are "serve", "serve,gpu"/)
  })

  it('inspect lists the signatures by key, without the init op', async () => {
    const info = await inspectSavedModel(join(SAVED_MODELS, 'module'))
    expect(info.signatures.map((s) => s.name)).toEqual(['embed', 'serving_default'])
    const serving = info.signatures[1]!
    expect(serving.inputs).toEqual([{ key: 'image', tensor: 'serving_default_image:0', dtype: 'float32', shape: [-1, 8, 8, 1] }])
    expect(serving.outputs.map((o) => [o.key, o.dtype])).toEqual([['class_id', 'int32'], ['probs', 'float32']])
    expect(info.variables.map((v) => v.name)).toContain('dense_w/.ATTRIBUTES/VARIABLE_VALUE')
  })

  it('a wrong signature name is UNKNOWN_SIGNATURE, listing the ones there', async () => {
    const error = await convert({ source: join(SAVED_MODELS, 'module'), signatureName: 'serving_defualt' }).catch((e: unknown) => e)
    expect(isTfModelError(error)).toBe(true)
    if (!isTfModelError(error)) return
    expect(error.code).toBe('UNKNOWN_SIGNATURE')
    expect(error.message).toContain('saved_model.pb')
    expect(error.message).toContain('it has "embed" or "serving_default"')
    expect(error.suggestions).toEqual(['serving_default'])
  })
})

describe('Keras files', () => {
  it('an import of a .keras or .h5 file is UNSUPPORTED_FORMAT saying to call model.export, whatever the bundler', async () => {
    const dir = outDirFor('keras-file')
    for (const [bundler, name] of [['vite', 'm.keras'], ['esbuild', 'weights.h5'], ['webpack', 'm.keras']] as const) {
      writeFileSync(join(dir, name), 'PK\u0003\u0004 not really a zip')
      writeFileSync(join(dir, 'main.js'), `import m from './${name}'\nexport default m\n`)
      const error = (await buildApp(bundler, dir, join(dir, 'main.js'), join(dir, 'out'), { dts: false, cacheDir: false }).catch((e: Error) => e)) as Error
      expect(error, bundler).toBeInstanceOf(Error)
      expect(error.message, bundler).toContain('UNSUPPORTED_FORMAT')
      expect(error.message, bundler).toContain(`model.export("${name.replace(/\.\w+$/, '')}")`)
      expect(error.message, bundler).toContain(name)
      expect(error.message, bundler).not.toMatch(/could not resolve|can't resolve/i)
    }
  })

  it('the CLI says the same for a .keras input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfmodel-keras-'))
    writeFileSync(join(dir, 'm.keras'), 'PK')
    for (const argv of [['convert', join(dir, 'm.keras'), join(dir, 'out')], ['inspect', join(dir, 'm.keras')]]) {
      const errors: string[] = []
      const code = await main(argv, () => {}, (line) => errors.push(line))
      expect(code, argv[0]).not.toBe(0)
      expect(errors.join('\n'), argv[0]).toContain('UNSUPPORTED_FORMAT')
      expect(errors.join('\n'), argv[0]).toContain('model.export("m")')
    }
  })
})

// fixtures/saved_model/checkpointed: a SavedModel exported before training
// and a CheckpointManager directory of three later steps. Both Dense objects
// name their variables "w" and "b": only the object graphs tell them apart.
const checkpointed = manifest.fixtures.checkpointed!
const exported = join(SAVED_MODELS, checkpointed.saved_model)
const trainDir = join(SAVED_MODELS, checkpointed.checkpoints!.dir)
const steps = Object.entries(checkpointed.checkpoints!.io)

async function expectTensorFlowOutputs(modelJson: string, ioFile: string): Promise<void> {
  const io = readJson<IoFile>(ioFile)
  const { model } = await loadGraph(modelJson, 'cpu')
  const outputs = await run(model, io.inputs, Object.keys(io.outputs))
  for (const [output, expected] of Object.entries(io.outputs)) {
    const want = toTensor(expected).dataSync()
    expect(outputs[output]!.length, output).toBe(want.length)
    expect(maxRelativeError(outputs[output]!, want as ArrayLike<number>), `${ioFile}: ${output}`).toBeLessThan(1e-4)
  }
  model.dispose()
}

describe('a SavedModel paired with a newer object-based checkpoint', () => {
  it.each(steps)('%s: the SavedModel\'s graph with the checkpoint\'s values matches TensorFlow', async (step, io) => {
    const out = mkdtempSync(join(tmpdir(), `tfmodel-paired-${step}-`))
    const result = await convert({ source: join(trainDir, step), inputGraph: exported, outputDir: out })
    expect(result.signature.inputs.map((i) => i.name)).toEqual(['x'])
    expect(result.signature.outputs.map((o) => o.name)).toEqual(['y'])
    await expectTensorFlowOutputs(join(out, 'model.json'), join(SAVED_MODELS, io))
  })

  it('an import of the SavedModel with the checkpoint option builds with the newest step\'s values', async () => {
    const app = outDirFor('paired-option')
    cpSync(exported, join(app, 'export'), { recursive: true })
    cpSync(trainDir, join(app, 'train'), { recursive: true })
    writeFileSync(join(app, 'main.js'), "export { default } from './export'\n")
    await buildApp('vite', app, join(app, 'main.js'), join(app, 'dist'), { dts: false, cacheDir: false, models: [{ include: 'export', checkpoint: 'train' }] })
    const assets = join(app, 'dist', 'assets')
    const modelJson = readdirSync(assets).find((f) => f.endsWith('.json'))!
    await expectTensorFlowOutputs(join(assets, modelJson), join(SAVED_MODELS, steps.at(-1)![1]))
    // On a checkpoint import, the option is a mistake, not ignored.
    const convnet = resolve(import.meta.dirname, '../fixtures/convnet')
    for (const file of readdirSync(convnet).filter((f) => f.startsWith('model.ckpt'))) cpSync(join(convnet, file), join(app, file))
    writeFileSync(join(app, 'tf1.js'), "export { default } from './model.ckpt'\n")
    const error = await buildApp('vite', app, join(app, 'tf1.js'), join(app, 'dist-tf1'), { dts: false, cacheDir: false, models: [{ include: 'model.ckpt', checkpoint: 'train' }] }).catch((e: Error) => e)
    expect(String(error)).toMatch(/INVALID_OPTION.*models\[\]\.checkpoint pairs a SavedModel with a checkpoint, but .*model\.ckpt is no SavedModel/)
  })

  it('the training directory means its newest checkpoint, and differs from the SavedModel\'s own values', async () => {
    const [newest, io] = steps.at(-1)!
    const out = mkdtempSync(join(tmpdir(), 'tfmodel-paired-dir-'))
    await convert({ source: trainDir, inputGraph: exported, outputDir: out })
    await expectTensorFlowOutputs(join(out, 'model.json'), join(SAVED_MODELS, io))
    expect(newest).toBe('ckpt-3')
    // The export's own (untrained) outputs are far from the trained ones, so
    // the check above could not pass on the SavedModel's variables.
    const own = readJson<IoFile>(join(exported, 'io.json')).outputs.y!
    const trained = readJson<IoFile>(join(SAVED_MODELS, io)).outputs.y!
    expect(maxRelativeError(toTensor(own).dataSync() as ArrayLike<number>, toTensor(trained).dataSync() as ArrayLike<number>)).toBeGreaterThan(0.05)
  })

  it('the CLI takes the SavedModel as --input_graph beside the checkpoint', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tfmodel-paired-cli-'))
    const lines: string[] = []
    expect(await main(['convert', trainDir, out, '--input_graph', exported], (l) => lines.push(l), (l) => lines.push(l))).toBe(0)
    await expectTensorFlowOutputs(join(out, 'model.json'), join(SAVED_MODELS, steps.at(-1)![1]))
  })

  it('inspect shows each tensor\'s object path, telling apart the variables that share a name', async () => {
    const lines: string[] = []
    expect(await main(['inspect', trainDir], (l) => lines.push(l))).toBe(0)
    const row = (key: string) => lines.find((l) => l.startsWith(`${key} `)) ?? ''
    expect(row('model/first/w/.ATTRIBUTES/VARIABLE_VALUE')).toMatch(/float32\s+\[4,4\]\s+64 B\s+object model\/first\/w \("w"\)$/)
    expect(row('model/second/w/.ATTRIBUTES/VARIABLE_VALUE')).toMatch(/object model\/second\/w \("w"\)$/)
    expect(row('save_counter/.ATTRIBUTES/VARIABLE_VALUE')).toMatch(/object save_counter/)
    expect(row('_CHECKPOINTABLE_OBJECT_GRAPH')).not.toContain('object')
    expect(lines.at(-1) ?? '').toContain(join(trainDir, 'ckpt-3'))
  })

  it('a name-based (TF1) checkpoint cannot be matched to the SavedModel: VARIABLE_MISSING naming the checkpoint', async () => {
    const tf1 = resolve(import.meta.dirname, '../fixtures/convnet/model.ckpt')
    const error = await convert({ source: tf1, inputGraph: exported }).catch((e: unknown) => e)
    expect(isTfModelError(error)).toBe(true)
    if (!isTfModelError(error)) return
    expect(error.code).toBe('VARIABLE_MISSING')
    expect(error.message).toContain('model.ckpt.index')
    expect(error.message).toContain('_CHECKPOINTABLE_OBJECT_GRAPH')
  })
})

describe('tf.while_loop and tf.cond in the traced function', () => {
  const spec = manifest.fixtures.control_flow!
  const dir = join(SAVED_MODELS, spec.saved_model)

  it('kept as While and If with their functions: both branches give TensorFlow\'s outputs, in no more nodes than TensorFlow\'s freezer', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tfmodel-savedmodel-cf-'))
    const result = await convert({ source: dir, outputDir: out })
    expect(result.dynamicOps.sort()).toEqual(['If', 'While'])
    for (const io of [spec.signatures.serving_default!, ...spec.extra_io!]) await expectTensorFlowOutputs(join(out, 'model.json'), join(dir, io))
    const { modelTopology } = readJson<{ modelTopology: { node: unknown[]; library?: { function?: { nodeDef?: unknown[] }[] } } }>(join(out, 'model.json'))
    const functions = modelTopology.library?.function ?? []
    expect(functions.length).toBeGreaterThanOrEqual(4) // cond true/false, while cond/body
    const ours = modelTopology.node.length + functions.reduce((sum, f) => sum + (f.nodeDef?.length ?? 0), 0)
    console.log(`control_flow nodes: ours ${ours}, convert_variables_to_constants_v2 ${spec.tf_frozen_node_count}`)
    expect(ours).toBeLessThanOrEqual(spec.tf_frozen_node_count!)
  })
})

describe('a Keras 3 LSTM exported with model.export()', () => {
  const spec = manifest.fixtures.keras_lstm!
  const dir = join(SAVED_MODELS, spec.saved_model)

  it('its While over TensorLists runs in TF.js as TF1 frames, in fewer nodes than TensorFlow\'s freezer leaves', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tfmodel-savedmodel-lstm-'))
    const result = await convert({ source: dir, outputDir: out })
    expect(result.applied.some((line) => line.startsWith('lowered 1 while loop')), result.applied.join('\n')).toBe(true)
    const { modelTopology } = readJson<{ modelTopology: { node: { op: string }[]; library?: { function?: unknown[] } } }>(join(out, 'model.json'))
    expect(modelTopology.node.some((n) => n.op === 'While' || n.op === 'StatelessWhile')).toBe(false)
    expect(modelTopology.library?.function ?? []).toEqual([])
    // TF.js's outputs are checked against TensorFlow's with every signature above.
    console.log(`keras_lstm nodes: ours ${modelTopology.node.length}, convert_variables_to_constants_v2 ${spec.tf_frozen_node_count}`)
    expect(modelTopology.node.length).toBeLessThanOrEqual(spec.tf_frozen_node_count!)
  })
})

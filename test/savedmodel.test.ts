// SavedModels (fixtures/saved_model/, written by TensorFlow): each signature
// converted and run by TensorFlow.js against the outputs TensorFlow's loaded
// signature returned, under the signature's own input and output names.
import { mkdtempSync, writeFileSync } from 'node:fs'
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
  fixtures: Record<string, { saved_model: string; signatures: Record<string, string> }>
}

interface IoFile {
  inputs: Record<string, JsonTensor>
  outputs: Record<string, JsonTensor>
}

const manifest = readJson<SavedModelManifest>(join(SAVED_MODELS, 'manifest.json'))
const cases = Object.entries(manifest.fixtures).flatMap(([name, spec]) =>
  Object.entries(spec.signatures).map(([signature, io]) => ({ name, dir: join(SAVED_MODELS, spec.saved_model), signature, io })),
)
const backends: Backend[] = ['cpu', 'wasm']

describe('SavedModel signatures match TensorFlow within 1e-4 relative', () => {
  it.each(cases.flatMap((c) => backends.map((backend) => [`${c.name} ${c.signature}`, backend, c] as const)))('%s (%s)', async (_, backend, c) => {
    const out = mkdtempSync(join(tmpdir(), `tfmodel-savedmodel-${c.name}-`))
    const result = await convert({ source: c.dir, signatureName: c.signature, outputDir: out })
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

describe('SavedModel sources', () => {
  it('a SavedModel directory is an import of kind saved_model, with signature= as a directive', () => {
    const dir = join(SAVED_MODELS, 'module')
    expect(identifySource(dir)).toEqual({ kind: 'saved_model', source: dir })
    expect(resolveModelImport('./module?signature=embed', join(SAVED_MODELS, 'app.ts'), SAVED_MODELS)).toEqual({ source: dir, query: 'signature=embed' })
    expect(parseDirectives('signature=embed&quantize')).toEqual({ signature: 'embed', quantize: 'uint8' })
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

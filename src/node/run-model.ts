// Loads a model for `tfmodel run` in this Node process through the app's own
// runtime: a TF.js model on tfjs's CPU or WASM backend, a `.tflite` on
// LiteRT.js, and anything else converted to TF.js first, in memory.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import vm from 'node:vm'

import { convert } from '../native.js'
import { createModel, type LoadedModel } from '../runtime/index.js'
import type { DType, ModelDescriptor, Signature, TensorSpec } from '../runtime/types.js'
import { InputMismatchError, readInputFile } from './run-input.js'

const require = createRequire(import.meta.url)

export type NodeBackend = 'cpu' | 'wasm'

/**
 * Opens `path`: a TF.js model directory or model.json, a `.tflite` (or a
 * directory holding one), or a source `tfmodel convert` takes, converted with
 * `outputs` as its output nodes when given (any node, as label_image took).
 */
export async function loadForRun(path: string, backend: NodeBackend, outputs?: string[]): Promise<LoadedModel> {
  if (path.endsWith('.tflite')) return loadTflite(path)
  const isDir = statSync(path, { throwIfNoEntry: false })?.isDirectory()
  // `tfmodel convert --format tflite`'s output directory.
  if (isDir && !existsSync(join(path, 'model.json')) && existsSync(join(path, 'model.tflite'))) return loadTflite(join(path, 'model.tflite'))
  const modelJson = isDir ? join(path, 'model.json') : path
  if (modelJson.endsWith('.json') && existsSync(modelJson)) {
    const json = readFileSync(modelJson)
    const manifest = (JSON.parse(json.toString()) as { weightsManifest?: { paths: string[] }[] }).weightsManifest ?? []
    const files = new Map([['model.json', json]])
    for (const shard of manifest.flatMap((group) => group.paths)) files.set(shard, readFileSync(join(dirname(modelJson), shard)))
    // Whether the graph needs executeAsync is not in model.json: TF.js's async path runs either kind.
    return loadTfjs(path, files, backend, true)
  }
  const result = await convert({ source: path, format: 'tfjs', outputNodeNames: outputs })
  return loadTfjs(path, new Map(result.files.map((f) => [f.name, Buffer.from(f.data)])), backend, result.executeAsync)
}

/** `fetch` over files held in memory, by name under `memory:/`. */
function memoryFetch(files: Map<string, Buffer>): typeof fetch {
  return async (url) => {
    const name = new URL(String(url)).pathname.replace(/^\//, '')
    const bytes = files.get(name)
    return bytes ? new Response(new Uint8Array(bytes)) : new Response(null, { status: 404 })
  }
}

async function loadTfjs(id: string, files: Map<string, Buffer>, backend: NodeBackend, executeAsync: boolean): Promise<LoadedModel> {
  const json = files.get('model.json')!
  const weights = [...files.entries()].filter(([name]) => name !== 'model.json')
  const weightBytes = weights.reduce((sum, [, data]) => sum + data.byteLength, 0)
  const descriptor: ModelDescriptor = {
    id,
    url: 'memory:/model.json',
    hash: '',
    format: 'tfjs',
    signature: signatureOf(JSON.parse(json.toString()) as ModelJson),
    sizes: { modelJson: json.byteLength, weights: weightBytes, float32Weights: weightBytes, total: json.byteLength + weightBytes },
    files: weights.map(([path, data]) => ({ path, bytes: data.byteLength })),
    executeAsync,
    quantization: null,
    tfjs: async () => {
      const modules = await Promise.all([import('@tensorflow/tfjs-core'), import('@tensorflow/tfjs-converter')])
      // Production mode: no banner asking for tfjs-node (a native build) between the command's lines.
      modules[0].env().set('PROD', true)
      return modules
    },
    backends: {
      cpu: () => import('@tensorflow/tfjs-backend-cpu'),
      wasm: async () => {
        const wasm = await import('@tensorflow/tfjs-backend-wasm')
        wasm.setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`)
      },
    },
  }
  const loaded = await createModel(descriptor).load({ backend, fetch: memoryFetch(files), warmup: false })
  const run = loaded.run.bind(loaded)
  // executeAsync on a graph that did not need it says so on every run.
  return Object.assign(loaded, { run: (inputs: Parameters<typeof run>[0]) => withoutWarnings(/^This model execution did not contain/, () => run(inputs)) })
}

/** `work` with console.warn passing on everything but what matches `noise`. */
async function withoutWarnings<T>(noise: RegExp, work: () => Promise<T>): Promise<T> {
  const warn = console.warn
  console.warn = (...args: unknown[]) => {
    if (!noise.test(String(args[0]))) warn(...args)
  }
  try {
    return await work()
  } finally {
    console.warn = warn
  }
}

interface ModelJson {
  signature?: Record<'inputs' | 'outputs', Record<string, { name: string; dtype: string; tensorShape?: { dim?: { size: string }[]; unknownRank?: boolean } }>>
}

/** model.json's `signature` (TensorFlow's TensorInfo) in the runtime's terms. */
function signatureOf(json: ModelJson): Signature {
  const specs = (side: 'inputs' | 'outputs'): TensorSpec[] =>
    Object.values(json.signature?.[side] ?? {}).map((info) => ({
      name: info.name.replace(/:0$/, ''),
      dtype: tfDtype(info.dtype),
      shape: info.tensorShape?.unknownRank || !info.tensorShape ? null : (info.tensorShape.dim ?? []).map((d) => Number(d.size)),
    }))
  return { inputs: specs('inputs'), outputs: specs('outputs') }
}

function tfDtype(name: string): DType | 'unknown' {
  if (name === 'DT_FLOAT' || name === 'float32') return 'float32'
  if (name === 'DT_BOOL' || name === 'bool') return 'bool'
  if (name === 'DT_STRING') return 'string'
  return /INT|int/.test(name) ? 'int32' : 'unknown'
}

/**
 * LiteRT.js's glue is a classic browser script: give it what it looks for
 * (`self`, `importScripts`, and CommonJS's `require`).
 */
export function nodeLiteRtGlue(): void {
  const g = globalThis as Record<string, unknown>
  g.self ??= globalThis
  g.importScripts ??= (url: string) => {
    const file = fileURLToPath(url)
    // Its progress lines (INFO, and a WARNING that no NPU is there) would go to stderr, between the CLI's own.
    const wrapped = `(function (require, __dirname, __filename, quiet) {${readFileSync(file, 'utf8')}
globalThis.ModuleFactory = (module) => ModuleFactory({ ...module, printErr: quiet })})`
    const run = vm.runInThisContext(wrapped, { filename: file }) as (r: NodeRequire, d: string, f: string, quiet: (line: string) => void) => void
    run(require, dirname(file), file, (line) => {
      if (!/^(INFO|WARNING): /.test(line)) console.error(line)
    })
  }
}

function loadTflite(path: string): Promise<LoadedModel> {
  const bytes = readInputFile(path)
  // A FlatBuffer's file identifier sits after its root offset; LiteRT.js would only report a bad offset.
  if (bytes.toString('latin1', 4, 8) !== 'TFL3') throw new InputMismatchError('UNSUPPORTED_FORMAT', `${path} is not a TFLite model (no TFL3 identifier)`, path)
  return loadTfliteBytes(path, bytes)
}

/** A `.tflite` held in memory, compiled by LiteRT.js in this process. */
export async function loadTfliteBytes(id: string, bytes: Buffer): Promise<LoadedModel> {
  nodeLiteRtGlue()
  const wasmDir = join(dirname(require.resolve('@litertjs/core/package.json')), 'wasm')
  const build = (stem: string) => ({ js: pathToFileURL(join(wasmDir, `${stem}.js`)).href, wasm: pathToFileURL(join(wasmDir, `${stem}.wasm`)).href })
  const descriptor: ModelDescriptor = {
    id,
    url: 'memory:/model.tflite',
    hash: '',
    format: 'tflite',
    // Read from the compiled model below: a .tflite on disk comes with no loader module to say it.
    signature: { inputs: [], outputs: [] },
    sizes: { modelJson: bytes.byteLength, weights: 0, float32Weights: 0, total: bytes.byteLength },
    files: [],
    executeAsync: false,
    quantization: null,
    litert: () => import('@litertjs/core'),
    litertWasm: { compat: build('litert_wasm_compat_internal'), relaxedSimd: build('litert_wasm_internal') },
  }
  // LiteRT.js warns when it finds no WebGPU, which Node never has; the model runs on its CPU build.
  const loaded = await withoutWarnings(/^Failed to create default WebGPU device/, () =>
    createModel(descriptor).load({ fetch: memoryFetch(new Map([['model.tflite', bytes]])), warmup: false }),
  )
  const compiled = loaded.compiledModel!
  const spec = (d: { name: string; dtype: string; shape: Int32Array }): TensorSpec => ({ name: d.name, dtype: tfDtype(d.dtype), shape: [...d.shape] })
  // The runtime reads the descriptor's signature each time it runs.
  const signature = { inputs: compiled.getInputDetails().map(spec), outputs: compiled.getOutputDetails().map(spec) }
  descriptor.signature = signature
  return {
    signature,
    backend: loaded.backend,
    compiledModel: compiled,
    get graphModel() {
      return loaded.graphModel
    },
    run: (inputs) => loaded.run(inputs),
    dispose: () => loaded.dispose(),
  }
}

// The plugin's options: `Options` is what users write (everything optional,
// defaults documented), `ResolvedOptions` is complete; nothing else reads raw options.
import { isAbsolute, join, resolve } from 'node:path'

import picomatch from 'picomatch'

import type { BackendName } from '../runtime/types.js'
import { FORMATS, type ModelFormat, QUANTIZE_MODES, type QuantizeMode } from './directives.js'
import { closestNames, defaults } from '../native.js'
import { PluginError } from './errors.js'

/** Settings for the models whose source path matches `include`. */
export interface ModelOptions {
  /** Glob(s) matched against the model's source path relative to `root`, e.g. `models/ssd.ckpt*`. */
  include: string | string[]
  /** Output node names (`--output_node_names`). @default the signature, else the graph's sinks */
  outputs?: string[]
  /** Input node names (`--input_names`). @default the placeholders the outputs need */
  inputs?: string[]
  /** A GraphDef (`.pb`/`.pbtxt`) to pair with a checkpoint saved without a `.meta`, or the SavedModel
   * whose graph an object-based checkpoint's values fill, relative to `root`. */
  graph?: string
  /** For a SavedModel import: the object-based checkpoint of the same model whose values replace
   * the SavedModel's own, relative to `root` (a `tf.train.Checkpoint` prefix, or a `CheckpointManager`
   * directory, whose newest checkpoint `vite dev` follows). */
  checkpoint?: string
  quantize?: boolean | QuantizeMode
  format?: ModelFormat
  /** Freeze with the `ExponentialMovingAverage` shadow variables, as evaluation scripts restore them. @default false */
  ema?: boolean
  /** Placeholders fixed to values for inference, e.g. `{ is_training: false, keep_prob: 1 }`; training
   * switches and dropout's `keep_prob` are found and fixed without this. */
  placeholders?: Record<string, boolean | number>
  /** `quantize: 'int8-full'`'s representative inputs, relative to `root`: a folder of PNG/JPEG
   * images (resized to the input, float pixels `(p - mean) / std`, label_image's 0 and 255 by
   * default), an `.npy` of samples along its first axis, an `.npz` with an array per input, or a
   * module whose default export is an (async) iterable of input records. */
  calibration?: string | CalibrationOptions
}

export interface CalibrationOptions {
  path: string
  mean?: number
  std?: number
}

export interface Options {
  /**
   * Quantize weights of every model: `true`/`'uint8'` (affine 8-bit, TF.js
   * decodes it), `'float16'`, or `'int8'` (per-channel, our loader decodes it).
   * `?quantize` on an import overrides it.
   * @default false
   */
  quantize?: boolean | QuantizeMode
  /** Asset kind: a TF.js graph model (`model.json` + `.bin` shards), a frozen binary GraphDef, or a
   * `.tflite` the loader runs with LiteRT.js (`@litertjs/core`; `quantize` then takes `'float16'` or `'int8'`). @default 'tfjs' */
  format?: ModelFormat
  /** What an op TF.js cannot run does to a build: fail it, or warn. @default 'error' */
  opCheck?: 'error' | 'warn'
  /** Bytes per weight shard; browsers cache files up to 4 MB best. @default 4194304 */
  shardSize?: number
  /** Per-model settings by glob; the first match wins, then directives on the import apply. */
  models?: ModelOptions[]
  /** Where converted models are cached, keyed by content; `false` turns the cache off.
   * @default 'node_modules/.cache/unplugin-tfmodel' */
  cacheDir?: string | false
  /** Where the per-model declaration file goes (relative to `root`); `false` writes none. @default 'tfmodel-env.d.ts' */
  dts?: string | false
  /** Project root for globs, the cache and the declaration file. @default the bundler's root, else `process.cwd()` */
  root?: string
  /** TF.js backends the loader may use, if installed in the app. @default ['webgl', 'wasm', 'cpu'] */
  backends?: BackendName[]
  /**
   * What of TF.js a build bundles: `'model'` only the ops and kernels its
   * models use (and the WASM backend without threads, as the loader runs it);
   * `'all'` all of it, for an app that also runs TF.js itself or leaves TF.js
   * out of its bundle (external). `vite dev` always loads all of TF.js.
   * @default 'model'
   */
  kernels?: KernelSet
  /** Log conversions and cache hits (`true` logs through the bundler/console). @default false */
  debug?: boolean | ((message: string) => void)
}

export interface ResolvedModelOptions {
  outputs: string[] | undefined
  inputs: string[] | undefined
  graph: string | undefined
  /** With an absolute path. */
  checkpoint: string | undefined
  quantize: QuantizeMode | undefined
  format: ModelFormat
  ema: boolean
  /** `name=value` pairs. */
  placeholders: string[] | undefined
  /** With an absolute path. */
  calibration: CalibrationOptions | undefined
}

export interface ResolvedOptions {
  quantize: QuantizeMode | undefined
  format: ModelFormat
  opCheck: 'error' | 'warn'
  shardSize: number
  models: { matches: (path: string) => boolean; options: ModelOptions }[]
  cacheDir: string | undefined
  dts: string | undefined
  root: string
  backends: BackendName[]
  kernels: KernelSet
  debug: ((message: string) => void) | undefined
}

export type KernelSet = 'model' | 'all'

const BACKENDS: readonly BackendName[] = ['webgl', 'wasm', 'cpu', 'webgpu']
const OPTION_NAMES = ['quantize', 'format', 'opCheck', 'shardSize', 'models', 'cacheDir', 'dts', 'root', 'backends', 'kernels', 'debug']
const KERNEL_SETS: readonly KernelSet[] = ['model', 'all']
const MODEL_OPTION_NAMES = ['include', 'outputs', 'inputs', 'graph', 'checkpoint', 'quantize', 'format', 'ema', 'placeholders', 'calibration']

export function resolveOptions(options: Options = {}, bundlerRoot?: string): ResolvedOptions {
  rejectUnknown(options, OPTION_NAMES, 'option')
  const root = resolve(options.root ?? bundlerRoot ?? process.cwd())
  const shardSize = options.shardSize ?? defaults().shardSize
  if (!Number.isInteger(shardSize) || shardSize <= 0) {
    throw new PluginError('INVALID_OPTION', `option "shardSize" must be a positive integer, not ${String(options.shardSize)}`)
  }
  if (options.opCheck !== undefined && options.opCheck !== 'error' && options.opCheck !== 'warn') {
    throw new PluginError('INVALID_OPTION', `option "opCheck" takes "error" or "warn", not "${String(options.opCheck)}"`)
  }
  for (const name of ['cacheDir', 'dts'] as const) {
    const value = options[name]
    if (value !== undefined && value !== false && typeof value !== 'string') {
      throw new PluginError('INVALID_OPTION', `option "${name}" takes a path or false, not ${JSON.stringify(value)}`)
    }
  }
  if (options.debug !== undefined && typeof options.debug !== 'boolean' && typeof options.debug !== 'function') {
    throw new PluginError('INVALID_OPTION', 'option "debug" takes true, false or a function')
  }
  const backends = options.backends ?? ['webgl', 'wasm', 'cpu']
  for (const backend of backends) {
    if (!BACKENDS.includes(backend)) {
      throw new PluginError('INVALID_OPTION', `option "backends" has an unknown backend ${JSON.stringify(backend)}`, closestNames(String(backend), BACKENDS))
    }
  }
  if (options.kernels !== undefined && !KERNEL_SETS.includes(options.kernels)) {
    throw new PluginError('INVALID_OPTION', `option "kernels" takes "model" or "all", not ${JSON.stringify(options.kernels)}`, closestNames(String(options.kernels), KERNEL_SETS))
  }
  const cacheDir = options.cacheDir === false ? undefined : within(root, options.cacheDir ?? join('node_modules', '.cache', 'unplugin-tfmodel'))
  return {
    quantize: quantizeMode(options.quantize, 'quantize'),
    format: format(options.format, 'format'),
    opCheck: options.opCheck ?? 'error',
    shardSize,
    models: (options.models ?? []).map((model, i) => {
      rejectUnknown(model, MODEL_OPTION_NAMES, `option of models[${i}]`)
      const globs = Array.isArray(model.include) ? model.include : [model.include]
      if (globs.length === 0 || globs.some((g) => typeof g !== 'string')) {
        throw new PluginError('INVALID_OPTION', `models[${i}].include must be a glob or a list of globs`)
      }
      for (const name of ['outputs', 'inputs'] as const) {
        const names = model[name]
        if (names !== undefined && (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string' || n === ''))) {
          throw new PluginError('INVALID_OPTION', `models[${i}].${name} must be a list of node names`)
        }
      }
      for (const name of ['graph', 'checkpoint'] as const) {
        if (model[name] !== undefined && typeof model[name] !== 'string') {
          throw new PluginError('INVALID_OPTION', `models[${i}].${name} must be a path`)
        }
      }
      if (model.ema !== undefined && typeof model.ema !== 'boolean') {
        throw new PluginError('INVALID_OPTION', `models[${i}].ema must be true or false`)
      }
      placeholderPairs(model.placeholders, `models[${i}].placeholders`)
      calibrationOption(model.calibration, `models[${i}].calibration`, root)
      // Checked now, not when a model first matches.
      const quantize = quantizeMode(model.quantize, `models[${i}].quantize`)
      if (model.calibration !== undefined && model.quantize !== undefined && quantize !== 'int8-full') {
        throw new PluginError('INVALID_OPTION', `models[${i}].calibration is for quantize: 'int8-full', not ${JSON.stringify(model.quantize)}`)
      }
      format(model.format, `models[${i}].format`)
      return { matches: picomatch(globs, { dot: true }), options: model }
    }),
    cacheDir,
    dts: options.dts === false ? undefined : within(root, options.dts ?? 'tfmodel-env.d.ts'),
    root,
    backends,
    kernels: options.kernels ?? 'model',
    debug: options.debug === true ? (message) => console.log(`[tfmodel] ${message}`) : options.debug || undefined,
  }
}

/** Settings for one model: plugin defaults, then the first matching `models` entry. */
export function modelOptions(resolved: ResolvedOptions, relativePath: string): ResolvedModelOptions {
  const match = resolved.models.find((m) => m.matches(relativePath))?.options
  return {
    outputs: match?.outputs,
    inputs: match?.inputs,
    graph: match?.graph === undefined ? undefined : within(resolved.root, match.graph),
    checkpoint: match?.checkpoint === undefined ? undefined : within(resolved.root, match.checkpoint),
    quantize: match?.quantize === undefined ? resolved.quantize : quantizeMode(match.quantize, 'models[].quantize'),
    format: match?.format === undefined ? resolved.format : format(match.format, 'models[].format'),
    ema: match?.ema ?? false,
    placeholders: placeholderPairs(match?.placeholders, 'models[].placeholders'),
    calibration: calibrationOption(match?.calibration, 'models[].calibration', resolved.root),
  }
}

const CALIBRATION_OPTION_NAMES = ['path', 'mean', 'std']

function calibrationOption(value: unknown, name: string, root: string): CalibrationOptions | undefined {
  if (value === undefined) return undefined
  const given = typeof value === 'string' ? { path: value } : (value as Partial<CalibrationOptions> | null)
  const number = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isFinite(v))
  const known = (o: object) => Object.keys(o).every((k) => CALIBRATION_OPTION_NAMES.includes(k))
  if (!given || typeof given !== 'object' || !known(given) || typeof given.path !== 'string' || given.path === '' || !number(given.mean) || !number(given.std) || given.std === 0) {
    throw new PluginError('INVALID_OPTION', `option "${name}" takes a path, or { path, mean?, std? } with numbers (std other than 0)`)
  }
  return { ...given, path: within(root, given.path) } as CalibrationOptions
}

function placeholderPairs(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined
  const entries = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.entries(value) : []
  const fine = entries.length > 0 && entries.every(([, v]) => typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)))
  if (!fine) throw new PluginError('INVALID_OPTION', `option "${name}" takes an object of placeholder names to true, false or a number, e.g. { keep_prob: 1 }`)
  return entries.map(([k, v]) => `${k}=${String(v)}`)
}

function quantizeMode(value: unknown, name: string): QuantizeMode | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return 'uint8'
  if (QUANTIZE_MODES.includes(value as QuantizeMode)) return value as QuantizeMode
  throw new PluginError(
    'INVALID_OPTION',
    `option "${name}" takes true, false, ${QUANTIZE_MODES.map((m) => `"${m}"`).join(', ')}, not ${JSON.stringify(value)}`,
    closestNames(String(value), QUANTIZE_MODES),
  )
}

function format(value: unknown, name: string): ModelFormat {
  if (value === undefined) return 'tfjs'
  if ((FORMATS as unknown[]).includes(value)) return value as ModelFormat
  throw new PluginError('INVALID_OPTION', `option "${name}" takes ${FORMATS.map((f) => `"${f}"`).join(', ')}, not ${JSON.stringify(value)}`, closestNames(String(value), FORMATS))
}

function rejectUnknown(object: object, known: string[], what: string): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) throw new PluginError('INVALID_OPTION', `unknown ${what} "${key}"`, closestNames(key, known))
  }
}

function within(root: string, path: string): string {
  return isAbsolute(path) ? path : join(root, path)
}

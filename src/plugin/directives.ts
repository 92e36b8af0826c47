// Query directives on a model import (`./ssd.ckpt?quantize=int8&outputs=a,b`),
// named after TensorFlow's tool flags. Unknown names and bad values are errors.
import { closestNames, defaults, type OutputFormat, type QuantizeMode } from '../native.js'
import { PluginError } from './errors.js'

export type { QuantizeMode }
export type ModelFormat = OutputFormat

export interface Directives {
  /** `quantize` alone means uint8; absent means float32 weights. */
  quantize?: QuantizeMode
  /** Output node names (`--output_node_names`). */
  outputs?: string[]
  /** Input node names (`--input_names`). */
  inputs?: string[]
  format?: ModelFormat
  /** The import is only the model's URL. */
  url?: boolean
  /** Freeze with the `ExponentialMovingAverage` shadow variables (`--use_ema`). */
  ema?: boolean
  /** Placeholders fixed to values, `name=value` (`--placeholder_to_const_names`). */
  placeholders?: string[]
  /** The SavedModel signature to convert (`--signature_name`; default `serving_default`). */
  signature?: string
  /** The tag set of the SavedModel meta graph to read (`--saved_model_tags`; default: the one tagged `serve`). */
  tags?: string[]
  /** `quantize=int8-full`'s representative inputs (`--calibration`), relative to the model's folder. */
  calibration?: string
}

export const DIRECTIVES = ['quantize', 'outputs', 'inputs', 'format', 'url', 'ema', 'placeholders', 'signature', 'tags', 'calibration'] as const
export const QUANTIZE_MODES: readonly QuantizeMode[] = defaults().quantizeModes
// Checked against the core's enum: a format added there fails to compile here.
export const FORMATS = Object.keys({ tfjs: true, pb: true, tflite: true } satisfies Record<ModelFormat, true>) as ModelFormat[]

/** Parameters bundlers add to ids themselves; never the user's. */
const BUNDLER_PARAMETERS = new Set(['t', 'v', 'import', 'used', 'direct', 'lang', 'inline'])

export function parseDirectives(query: string): Directives {
  const directives: Directives = {}
  const params = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query)
  for (const [name, value] of params) {
    if (BUNDLER_PARAMETERS.has(name)) continue
    switch (name) {
      case 'quantize':
        directives.quantize = oneOf(name, value === '' ? 'uint8' : value, QUANTIZE_MODES)
        break
      case 'format':
        directives.format = oneOf(name, value, FORMATS)
        break
      case 'outputs':
      case 'inputs':
        directives[name] = nodeList(name, value)
        break
      case 'url':
      case 'ema':
        if (value !== '') throw new PluginError('INVALID_DIRECTIVE', `directive "${name}" takes no value (got "${name}=${value}")`)
        directives[name] = true
        break
      case 'placeholders':
        directives.placeholders = placeholderValues(name, value)
        break
      case 'signature':
        if (value === '') throw new PluginError('INVALID_DIRECTIVE', 'directive "signature" needs a signature name, e.g. signature=serving_default')
        directives.signature = value
        break
      case 'tags': {
        const tags = value.split(',').map((t) => t.trim())
        if (tags.some((t) => t === '')) throw new PluginError('INVALID_DIRECTIVE', `directive "tags" needs a SavedModel tag set, e.g. tags=serve,gpu (got "tags=${value}")`)
        directives.tags = tags
        break
      }
      case 'calibration':
        if (value === '') throw new PluginError('INVALID_DIRECTIVE', 'directive "calibration" needs a folder of images, an .npy, an .npz or a module, e.g. calibration=calibration-images')
        directives.calibration = value
        break
      default:
        throw new PluginError('INVALID_DIRECTIVE', `unknown directive "${name}"`, closestNames(name, DIRECTIVES))
    }
  }
  return directives
}

/** A stable query string for the same directives, whatever order they were written in. */
export function canonicalQuery(directives: Directives): string {
  const parts: string[] = []
  if (directives.quantize) parts.push(`quantize=${directives.quantize}`)
  if (directives.outputs) parts.push(`outputs=${directives.outputs.join(',')}`)
  if (directives.inputs) parts.push(`inputs=${directives.inputs.join(',')}`)
  if (directives.format) parts.push(`format=${directives.format}`)
  if (directives.ema) parts.push('ema')
  if (directives.placeholders) parts.push(`placeholders=${directives.placeholders.join(',')}`)
  if (directives.signature) parts.push(`signature=${encodeURIComponent(directives.signature)}`)
  if (directives.tags) parts.push(`tags=${directives.tags.map(encodeURIComponent).join(',')}`)
  if (directives.calibration) parts.push(`calibration=${encodeURIComponent(directives.calibration)}`)
  if (directives.url) parts.push('url')
  return parts.join('&')
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new PluginError(
    'INVALID_DIRECTIVE',
    `directive "${name}" takes ${allowed.map((a) => `"${a}"`).join(', ')}, not "${value}"`,
    closestNames(value, allowed),
  )
}

function nodeList(name: string, value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean)
  if (names.length === 0) throw new PluginError('INVALID_DIRECTIVE', `directive "${name}" needs node names, e.g. ${name}=a,b`)
  return names
}

/** `is_training=true,keep_prob=0.5`: names fixed to a bool or a number. */
export function placeholderValues(name: string, value: string): string[] {
  const pairs = value.split(',').map((s) => s.trim()).filter(Boolean)
  const bad = pairs.find((pair) => !/^[^=]+=(true|false|[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?)$/i.test(pair))
  if (pairs.length === 0 || bad !== undefined) {
    throw new PluginError('INVALID_DIRECTIVE', `directive "${name}" takes name=value pairs (true, false or a number), e.g. ${name}=is_training=false,keep_prob=1.0${bad ? `, not "${bad}"` : ''}`)
  }
  return pairs
}

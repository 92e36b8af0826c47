// Which imports are models, and what each one asks for. A checkpoint prefix
// (`./ssd.ckpt`) is not a file: it stands for `ssd.ckpt.index`, its data
// shards and `.meta`; a training directory stands for its newest checkpoint.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path'

import { identifySource, looksLikeModel, requireSource, type SourceKind } from '../native.js'
import { canonicalQuery, DIRECTIVES, type Directives, type ModelFormat, parseDirectives, type QuantizeMode } from './directives.js'
import { PluginError } from './errors.js'
import { type CalibrationOptions, modelOptions, type ResolvedOptions } from './options.js'

/** First query parameter of every model id: `<source path>?tfmodel&<directives>`. */
export const ID_MARKER = 'tfmodel'
/** Matches model ids (virtual `\0`-prefixed ones, and plain ones for esbuild). */
export const MODEL_ID = /\?tfmodel(&|$)/

export type { SourceKind }

/** One model import, fully resolved. */
export interface ModelRequest {
  /** Virtual module id: the source path and the canonical directives. */
  id: string
  /** Absolute path of what the import names: a prefix, a training directory or a graph file. */
  source: string
  kind: SourceKind
  /** `source` relative to the root, for globs and messages. */
  relative: string
  directives: Directives
  settings: ModelSettings
}

/** Plugin options, per-glob options and directives, merged in that order. */
export interface ModelSettings {
  outputs: string[] | undefined
  inputs: string[] | undefined
  graph: string | undefined
  quantize: QuantizeMode | undefined
  format: ModelFormat
  url: boolean
  ema: boolean
  /** `name=value` pairs for `--placeholder_to_const_names`. */
  placeholders: string[] | undefined
  /** The SavedModel signature (`signature=`); unset: the core's default. */
  signature: string | undefined
  /** The SavedModel meta graph's tag set (`tags=`); unset: the one tagged `serve`. */
  tags: string[] | undefined
  /** `quantize=int8-full`'s representative inputs (an absolute path). */
  calibration: CalibrationOptions | undefined
}

const NOT_A_MODEL = /\.(m?[jt]sx?|c[jt]s|vue|svelte|css|scss|sass|less|html?|json|svg|png|jpe?g|gif|webp|avif|wasm|md)$/i

/** The absolute source path of a model import, or undefined when `specifier` names no model. */
export function resolveModelImport(specifier: string, importer: string | undefined, root: string): { source: string; query: string } | undefined {
  if (specifier.startsWith('\0')) return undefined
  const queryAt = specifier.indexOf('?')
  const path = queryAt >= 0 ? specifier.slice(0, queryAt) : specifier
  const query = queryAt >= 0 ? specifier.slice(queryAt + 1) : ''
  if (!path.startsWith('.') && !isAbsolute(path)) return undefined
  // Every relative import of the app comes through here: skip the file
  // system for the ones that are plainly code or ordinary assets.
  if (NOT_A_MODEL.test(path)) return undefined
  const base = importer && !importer.startsWith('\0') ? dirname(importer.split('?')[0]!) : root
  // `/models/ssd.ckpt` is root-relative unless it names a model on disk.
  const onDisk = isAbsolute(path) ? identifySource(path) : undefined
  const candidate = isAbsolute(path) ? resolve(root, `.${path}`) : resolve(base, path)
  const source = onDisk?.source ?? modelSource(candidate)
  if (source) return { source, query }
  // Written as a model (spelled like one, or with a directive only we take) but
  // absent, or spelled like one and no model (a Keras file): the core's error
  // names the models nearby or says what to do, rather than leave the
  // bundler's "could not resolve". Only for relative imports: Vite also
  // resolves the absolute paths of watched files, and a training loop deletes
  // old checkpoints.
  const written = path.startsWith('.') && (looksLikeModel(path) || hasOwnDirective(query))
  if (written && (!existsSync(candidate) || looksLikeModel(path))) requireSource(candidate)
  return undefined
}

/** Directives other tools do not share (`url` is Vite's, `format` image tools'). */
function hasOwnDirective(query: string): boolean {
  const shared = new Set(['url', 'format'])
  return [...new URLSearchParams(query).keys()].some((name) => !shared.has(name) && (DIRECTIVES as readonly string[]).includes(name))
}

/** `path` as a model source (prefix, training directory, graph), or undefined; the core decides. */
export function modelSource(path: string): string | undefined {
  return identifySource(path)?.source
}

export function sourceKind(path: string): SourceKind | undefined {
  return identifySource(path)?.kind
}

/**
 * `\0/abs/ssd.ckpt?tfmodel&quantize=uint8`. The `\0` keeps other plugins
 * away; esbuild gets ids without it, because it resolves the module's own
 * imports (TF.js) from the directory its path names.
 */
export function modelId(source: string, directives: Directives, virtual = true): string {
  const query = canonicalQuery(directives)
  return `${virtual ? '\0' : ''}${source}?${ID_MARKER}${query ? `&${query}` : ''}`
}

export function isModelId(id: string): boolean {
  return MODEL_ID.test(id)
}

/** The request behind a model id (directives are parsed again: ids may come from a cache). */
export function requestFromId(id: string, options: ResolvedOptions): ModelRequest {
  const body = id.replace(/^\0/, '')
  const queryAt = body.indexOf('?')
  const source = body.slice(0, queryAt)
  const directives = parseDirectives(body.slice(queryAt + 1).replace(new RegExp(`^${ID_MARKER}&?`), ''))
  const rel = relative(options.root, source).split(sep).join('/')
  const defaults = modelOptions(options, rel)
  // A SavedModel with `checkpoint` set converts as its checkpoint with the SavedModel as
  // its graph: the values (and, in dev, the files watched) are the checkpoint's.
  const imported = sourceKind(source) ?? 'checkpoint'
  if (defaults.checkpoint && imported !== 'saved_model') {
    throw new PluginError('INVALID_OPTION', `models[].checkpoint pairs a SavedModel with a checkpoint, but ${rel} is no SavedModel (for a checkpoint without a .meta, set graph)`)
  }
  const quantize = directives.quantize ?? defaults.quantize
  if (directives.calibration && quantize !== 'int8-full') {
    throw new PluginError('INVALID_DIRECTIVE', `directive "calibration" is for quantize=int8-full, which ${rel} does not ask for (quantize: ${quantize ?? 'none'})`)
  }
  const paired = imported === 'saved_model' ? defaults.checkpoint : undefined
  const kind = paired ? (sourceKind(paired) ?? 'checkpoint') : imported
  return {
    id,
    source: paired ?? source,
    kind,
    relative: rel,
    directives,
    settings: {
      outputs: directives.outputs ?? defaults.outputs,
      inputs: directives.inputs ?? defaults.inputs,
      graph: paired ? source : defaults.graph,
      quantize,
      format: directives.format ?? defaults.format,
      url: directives.url ?? false,
      ema: directives.ema ?? defaults.ema,
      placeholders: directives.placeholders ?? defaults.placeholders,
      signature: directives.signature,
      tags: directives.tags,
      // The directive's path is the model's neighbour, as the import's own is the importer's.
      calibration: directives.calibration ? { path: resolve(dirname(source), directives.calibration) } : defaults.calibration,
    },
  }
}

/** The request as the app sees it: the source relative to the root, and the
 * directives — no absolute path of the build machine ends up in the output. */
export function publicId(request: ModelRequest, directives: Directives = request.directives): string {
  const query = canonicalQuery(directives)
  return `${request.relative}${query ? `?${query}` : ''}`
}

/** A short stable name for a request's converted files: imports that differ
 * only in `?url` share them, and so do checkouts in different places. */
export function requestSlug(request: ModelRequest): string {
  const stem = sourceStem(request)
  const digest = createHash('sha256').update(publicId(request, { ...request.directives, url: false })).digest('hex').slice(0, 8)
  return `${stem}-${digest}`
}

/** The source's file name as a file-name stem (`ssd` for `models/ssd.ckpt`):
 * the same wherever the checkout is, so it may go into cached files. */
export function sourceStem(request: ModelRequest): string {
  return request.source.split(/[\\/]/).pop()!.replace(/\.(ckpt|pb|pbtxt)$/, '').replace(/[^\w.-]+/g, '_') || 'model'
}

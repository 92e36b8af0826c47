// Converts model requests through the native core, once per content: results
// are cached on disk under a key made of the source files' bytes, the
// conversion settings and the core's version (no absolute paths, so a CI
// cache or another checkout can reuse them), and concurrent requests for the
// same key share one conversion.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, relative } from 'node:path'

import { type ConvertRequest, type ConvertResult, convert, coreVersion, modelFiles, type NativeSignature } from '../native.js'
import type { DType, Signature } from '../runtime/types.js'
import { type ModelRequest, sourceStem } from './model-request.js'
import type { CalibrationOptions, ResolvedOptions } from './options.js'

/** What the core reports about a converted model, with the signature in the runtime's types. */
export type ModelInfo = Omit<ConvertResult, 'files' | 'signature'> & { signature: Signature }

/** A converted model: its files (model.json and shards, or a .pb) and what the loader needs. */
export interface ConvertedModel {
  /** Content-addressed cache key. */
  key: string
  result: ModelInfo
  files: { name: string; data: Uint8Array }[]
  /** The files the model was read from. */
  sourceFiles: string[]
  /** What to watch: the source files, and int8-full's calibration data (its folder too, which may gain images). */
  watchFiles: string[]
}

/** A conversion as the cache holds it. */
type Converted = Omit<ConvertedModel, 'watchFiles'>

/** Bumped when what the cache stores changes shape. */
const CACHE_SCHEMA = 1

/** Codes of a source file missing: Node's own (hashing) and the core's (converting). */
const VANISHED = new Set(['ENOENT', 'FILE_NOT_FOUND', 'SHARD_MISSING', 'CHECKPOINT_NOT_FOUND'])
/** Reads of a training directory whose checkpoint each time gave way to a newer one before giving up. */
const MAX_SUPERSEDED_READS = 5

export class ModelConverter {
  /** Conversions actually run (not served from cache), for tests and debug logs. */
  conversions = 0
  private readonly inFlight = new Map<string, Promise<Converted>>()

  constructor(private readonly options: ResolvedOptions) {}

  async convert(request: ModelRequest): Promise<ConvertedModel> {
    let found = await modelFiles(request.source, request.settings.graph)
    for (let attempt = 1; ; attempt++) {
      const { files: sourceFiles, checkpoint } = found
      try {
        const key = await this.cacheKey(request, sourceFiles)
        let pending = this.inFlight.get(key)
        if (!pending) {
          pending = this.load(request, key, sourceFiles, checkpoint ?? undefined).finally(() => this.inFlight.delete(key))
          this.inFlight.set(key, pending)
        }
        const model = await pending
        const calibration = calibrationOf(request)
        return { ...model, watchFiles: calibration ? [...sourceFiles, ...(await calibrationFiles(calibration.path, true))] : sourceFiles }
      } catch (error) {
        if (!VANISHED.has((error as { code?: string }).code ?? '')) throw error
        // A training loop's Saver (max_to_keep) deleted the checkpoint being
        // read, having saved a newer one: read that. Otherwise the file is gone.
        const now = request.kind === 'directory' ? await modelFiles(request.source, request.settings.graph).catch(() => undefined) : undefined
        if (now && (now.checkpoint ?? undefined) !== (checkpoint ?? undefined) && attempt < MAX_SUPERSEDED_READS) {
          found = now
          continue
        }
        throw codedMissing(error as Error & { code: string; path?: string })
      }
    }
  }

  private async load(request: ModelRequest, key: string, sourceFiles: string[], checkpoint: string | undefined): Promise<Converted> {
    const cached = await this.readCache(key)
    if (cached) {
      this.options.debug?.(`cache hit ${request.relative} (${key.slice(0, 12)})`)
      return { ...cached, sourceFiles }
    }
    this.conversions++
    const started = performance.now()
    const convertRequest: ConvertRequest = {
      // A training directory's state file may move on while we convert: read
      // exactly the checkpoint whose files were hashed.
      source: request.kind === 'directory' && checkpoint ? checkpoint : request.source,
      inputGraph: request.settings.graph,
      outputNodeNames: request.settings.outputs,
      inputNames: request.settings.inputs,
      quantize: request.settings.quantize,
      format: request.settings.format,
      shardSize: this.options.shardSize,
      // Content-hashed shard names, so the plugin copies the core's files as they are.
      hashedShardStem: sourceStem(request),
      opCheck: this.options.opCheck,
      useEma: request.settings.ema,
      placeholderToConstNames: request.settings.placeholders,
      signatureName: request.settings.signature,
      savedModelTags: request.settings.tags,
    }
    const calibration = calibrationOf(request)
    if (calibration) {
      const { calibrate } = await import('../node/index.js')
      convertRequest.calibrationRanges = (await calibrate(convertRequest, calibration.path, { mean: calibration.mean, std: calibration.std })).ranges
    }
    const { files, signature, ...rest } = await convert(convertRequest)
    this.options.debug?.(`converted ${request.relative} in ${Math.round(performance.now() - started)} ms (${key.slice(0, 12)})`)
    const model: Converted = {
      key,
      result: { ...rest, signature: toSignature(signature) },
      files: files.map((f) => ({ name: f.name, data: new Uint8Array(f.data) })),
      sourceFiles,
    }
    // Files rewritten in place while converting: the result is fine to use
    // now, but must not be filed under the key of the bytes hashed before.
    if ((await this.cacheKey(request, sourceFiles)) === key) await this.writeCache(model)
    return model
  }

  private async cacheKey(request: ModelRequest, sourceFiles: string[]): Promise<string> {
    const base = request.kind === 'directory' ? request.source : dirname(request.source)
    const files = await Promise.all(
      sourceFiles.map(async (file) => ({ name: relative(base, file).split('\\').join('/'), sha256: await hashFile(file) })),
    )
    const { outputs, inputs, quantize, format, ema, placeholders, signature, tags } = request.settings
    const shardStem = sourceStem(request)
    // The ranges calibration measures follow from the model and these bytes.
    const given = calibrationOf(request)
    const calibration = given ? await calibrationDigest(given) : undefined
    const settings = { outputs, inputs, quantize, format, ema, placeholders, signature, tags, calibration, shardStem, shardSize: this.options.shardSize, opCheck: this.options.opCheck }
    return createHash('sha256').update(JSON.stringify({ schema: CACHE_SCHEMA, core: coreVersion(), settings, files })).digest('hex')
  }

  private async readCache(key: string): Promise<Omit<Converted, 'sourceFiles'> | undefined> {
    if (!this.options.cacheDir) return undefined
    const dir = join(this.options.cacheDir, key)
    try {
      const result = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as ModelInfo & { fileNames: string[] }
      const { fileNames, ...rest } = result
      const files = await Promise.all(fileNames.map(async (name) => ({ name, data: new Uint8Array(await readFile(join(dir, 'files', name))) })))
      return { key, result: rest, files }
    } catch (error) {
      // Absent: convert. Damaged: remove it, so the fresh result can take its place.
      if ((error as { code?: string }).code !== 'ENOENT') await rm(dir, { recursive: true, force: true })
      return undefined
    }
  }

  /** Writes into a temporary directory renamed into place, so readers never see half an entry. */
  private async writeCache(model: Converted): Promise<void> {
    if (!this.options.cacheDir) return
    const final = join(this.options.cacheDir, model.key)
    const temporary = `${final}.${process.pid}.${Date.now()}.tmp`
    try {
      await mkdir(join(temporary, 'files'), { recursive: true })
      for (const file of model.files) await writeFile(join(temporary, 'files', basename(file.name)), file.data)
      const record = { ...model.result, fileNames: model.files.map((f) => basename(f.name)) }
      await writeFile(join(temporary, 'result.json'), JSON.stringify(record))
      await rename(temporary, final)
    } catch {
      await rm(temporary, { recursive: true, force: true }) // another process won the race, or the disk is read-only
    }
  }
}

/** Node's ENOENT from hashing a source file, as the core's FILE_NOT_FOUND naming it; the core's errors as they are. */
function codedMissing(error: Error & { code: string; path?: string }): Error {
  if (error.code !== 'ENOENT') return error
  return Object.assign(new Error(`${error.path}: the file was removed while it was read`), { code: 'FILE_NOT_FOUND', file: error.path, suggestions: [], outputsToName: [] })
}

function toSignature(signature: NativeSignature): Signature {
  const spec = (s: NativeSignature['inputs'][number]) => ({ name: s.name, dtype: s.dtype as DType | 'unknown', shape: s.shape ?? null })
  return { inputs: signature.inputs.map(spec), outputs: signature.outputs.map(spec) }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** The calibration int8-full reads; other modes take none. */
function calibrationOf(request: ModelRequest): CalibrationOptions | undefined {
  return request.settings.quantize === 'int8-full' ? request.settings.calibration : undefined
}

/** The calibration source's files: itself, or each file of its folder (and, `withFolder`, the folder). */
async function calibrationFiles(path: string, withFolder = false): Promise<string[]> {
  if (!(await stat(path).catch(() => undefined))?.isDirectory()) return [path]
  const files = (await readdir(path)).sort().map((name) => join(path, name))
  return withFolder ? [path, ...files] : files
}

/** The calibration data's bytes (each file of a folder, by name) and pixel settings, as a digest. A module's
 * own bytes count, not the files it reads. */
async function calibrationDigest(calibration: CalibrationOptions): Promise<string> {
  const { path, mean, std } = calibration
  const files = await calibrationFiles(path)
  const hashes = await Promise.all(files.map(async (file) => ({ name: basename(file), sha256: await hashFile(file).catch(() => 'missing') })))
  return createHash('sha256').update(JSON.stringify({ hashes, mean, std })).digest('hex')
}

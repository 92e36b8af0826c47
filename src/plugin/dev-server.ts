// `vite dev`: converted models are served from memory; their source files are
// watched, and a new checkpoint (written while a training loop runs) is
// converted off the main thread and pushed to the page over HMR. A broken
// checkpoint shows in Vite's error overlay while the last good model stays served.
import type { IncomingMessage, ServerResponse } from 'node:http'

import type { ViteDevServer } from 'vite'

import type { ModelDescriptor } from '../runtime/types.js'
import { devAssets, type ModelAssets } from './assets.js'
import type { ConvertedModel, ModelConverter } from './converter.js'
import { type ModelRequest, publicId, requestSlug } from './model-request.js'

/** URL path under the server's base where models are served. */
export const DEV_PREFIX = '@tfmodel/'

/** Older versions of a model kept served beside the newest, for pages still downloading one. */
const KEPT_VERSIONS = 2

/** Errors that mean "the checkpoint is still being written": try again shortly. */
const INCOMPLETE = new Set([
  'SHARD_MISSING',
  'SHARD_TRUNCATED',
  'INDEX_TRUNCATED',
  'INDEX_CORRUPT',
  'CRC_MISMATCH',
  'CHECKPOINT_NOT_FOUND',
  'FILE_NOT_FOUND',
  'GRAPH_EMPTY',
  'GRAPH_INVALID',
])

export interface DevServerOptions {
  /** Quiet time after the last file event before converting. */
  debounceMs?: number
  /** Longest wait after the first of a run of file events: a training loop that
   * saves more often than `debounceMs` still reaches the page this often. */
  maxWaitMs?: number
  /** How long to wait for a checkpoint to become complete before reporting it broken. */
  settleMs?: number
}

interface ServedModel {
  request: ModelRequest
  slug: string
  assets: ModelAssets
  /** Versions before `assets`, newest first, still served: a page may be mid-download when a new one lands. */
  previous: ModelAssets[]
  model: ConvertedModel
  /** Source files being watched. */
  watched: Set<string>
  timer?: ReturnType<typeof setTimeout>
  /** When the first file event not yet converted arrived. */
  pendingSince: number | undefined
  /** A conversion is running: file events meanwhile only mark the entry dirty. */
  converting: boolean
  /** Files changed since the running conversion started reading them. */
  dirty: boolean
  /** The last conversion failed: pages show it in the overlay until a good model is served again. */
  failed: boolean
}

export class DevModels {
  private readonly served = new Map<string, ServedModel>()
  /** Static files (the WASM backend's binaries) by name. */
  private readonly staticFiles = new Map<string, Uint8Array>()
  private readonly debounceMs: number
  private readonly maxWaitMs: number
  private readonly settleMs: number

  constructor(
    private readonly server: ViteDevServer,
    private readonly converter: ModelConverter,
    options: DevServerOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 200
    this.maxWaitMs = options.maxWaitMs ?? 800
    this.settleMs = options.settleMs ?? 5000
    server.watcher.on('all', (_event, file) => this.onFileEvent(file))
  }

  /** Serves a converted model and watches its files; returns the model.json URL. */
  register(request: ModelRequest, model: ConvertedModel): string {
    const entry = this.served.get(request.id) ?? {
      request,
      slug: requestSlug(request),
      assets: devAssets(model),
      previous: [],
      model,
      watched: new Set<string>(),
      pendingSince: undefined,
      converting: false,
      dirty: false,
      failed: false,
    }
    this.served.set(request.id, entry)
    this.replace(entry, model)
    return this.url(entry)
  }

  /** The model last served for `id`: what a reload gets while a checkpoint is mid-save. */
  lastGood(id: string): { request: ModelRequest; model: ConvertedModel } | undefined {
    const entry = this.served.get(id)
    return entry && { request: entry.request, model: entry.model }
  }

  /** Serves a static file (the WASM backend's binaries) under a stable URL. */
  serveFile(name: string, data: Uint8Array): string {
    this.staticFiles.set(name, data)
    return `${this.server.config.base}${DEV_PREFIX}files/${name}`
  }

  /** True for a file some served model is read from (Vite should not reload the page for it). */
  isSourceFile(file: string): boolean {
    return [...this.served.values()].some((entry) => this.belongsTo(entry, file))
  }

  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const path = (req.url ?? '').split('?')[0]!
    const at = path.indexOf(`/${DEV_PREFIX}`)
    if (at < 0) return next()
    const [slug, hash, ...rest] = path.slice(at + DEV_PREFIX.length + 1).split('/')
    const staticFile = slug === 'files' ? this.staticFiles.get(hash ?? '') : undefined
    if (staticFile) {
      // WASM binaries, and LiteRT.js's glue script beside its binary.
      res.setHeader('Content-Type', hash?.endsWith('.js') ? 'text/javascript' : 'application/wasm')
      res.end(Buffer.from(staticFile.buffer, staticFile.byteOffset, staticFile.byteLength))
      return
    }
    const file = this.find(slug, hash, rest.join('/'))
    if (!file) {
      res.statusCode = 404
      res.end(`unplugin-tfmodel: no model file ${path}`)
      return
    }
    const name = file.fileName
    res.setHeader('Content-Type', name.endsWith('.json') ? 'application/json' : 'application/octet-stream')
    res.setHeader('Cache-Control', 'no-cache')
    res.setHeader('Content-Length', String(file.data.byteLength))
    res.end(Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength))
  }

  /** A file of the current or the previous version of a model. */
  private find(slug: string | undefined, hash: string | undefined, name: string): ModelAssets['entry'] | undefined {
    for (const entry of this.served.values()) {
      if (entry.slug !== slug) continue
      for (const assets of [entry.assets, ...entry.previous]) {
        if (!assets || assets.hash !== hash) continue
        const file = assets.entry.fileName === name ? assets.entry : assets.shards.find((s) => s.fileName === name)
        if (file) return file
      }
    }
    return undefined
  }

  private url(entry: ServedModel): string {
    return `${this.server.config.base}${DEV_PREFIX}${entry.slug}/${entry.assets.hash}/${entry.assets.entry.fileName}`
  }

  /** Makes `model` the served version and watches exactly the files it was read from. */
  private replace(entry: ServedModel, model: ConvertedModel): void {
    const assets = devAssets(model)
    if (assets.hash !== entry.assets.hash) entry.previous = [entry.assets, ...entry.previous].slice(0, KEPT_VERSIONS)
    entry.assets = assets
    entry.model = model
    const wanted = new Set(model.watchFiles)
    // A training directory gains new checkpoint files: watch the directory itself.
    if (entry.request.kind === 'directory') wanted.add(entry.request.source)
    for (const file of wanted) {
      if (!entry.watched.has(file)) this.server.watcher.add(file)
    }
    for (const file of entry.watched) {
      const stillNeeded = [...this.served.values()].some((other) => other !== entry && other.watched.has(file))
      if (!wanted.has(file) && !stillNeeded) this.server.watcher.unwatch(file)
    }
    entry.watched = wanted
  }

  private belongsTo(entry: ServedModel, file: string): boolean {
    if (entry.watched.has(file)) return true
    // An image added to a calibration folder.
    if ([...entry.watched].some((watched) => file.startsWith(`${watched}/`))) return true
    if (entry.request.kind === 'directory') return file.startsWith(`${entry.request.source}/`)
    // Any file of the checkpoint prefix (a shard count may change).
    return entry.request.kind === 'checkpoint' && file.startsWith(`${entry.request.source}.`)
  }

  private onFileEvent(file: string): void {
    for (const entry of this.served.values()) {
      if (this.belongsTo(entry, file)) this.schedule(entry)
    }
  }

  /** Converts after `debounceMs` of quiet, but no later than `maxWaitMs` after the first event. */
  private schedule(entry: ServedModel): void {
    if (entry.converting) {
      entry.dirty = true
      return
    }
    const now = Date.now()
    entry.pendingSince ??= now
    clearTimeout(entry.timer)
    const wait = Math.max(0, Math.min(this.debounceMs, entry.pendingSince + this.maxWaitMs - now))
    entry.timer = setTimeout(() => void this.reconvert(entry), wait)
  }

  /**
   * Converts again, retrying while the checkpoint looks half-written. One
   * conversion at a time per model, so each publishes a newer state than the
   * last; events during it schedule the next one instead of cancelling it
   * (cancelling starved the page while a loop kept saving).
   */
  private async reconvert(entry: ServedModel): Promise<void> {
    entry.pendingSince = undefined
    entry.converting = true
    let started = Date.now()
    try {
      for (let attempt = 0; ; attempt++) {
        entry.dirty = false
        try {
          this.publish(entry, await this.converter.convert(entry.request))
          return
        } catch (error) {
          if (entry.dirty) {
            // Still being written (a loop saving again, deleting old ones): wait
            // for this write, not the backoff of a stalled one.
            attempt = 0
            started = Date.now()
          }
          if (this.stillBeingWritten(error, started)) {
            await backoff(attempt)
            continue
          }
          // Newer files are coming: judge those rather than report these.
          if (!entry.dirty) this.reportError(entry, error as Error)
          return
        }
      }
    } finally {
      entry.converting = false
      if (entry.dirty) this.schedule(entry)
    }
  }

  /**
   * A model's first conversion in dev, which `convert` runs: it too waits while
   * the checkpoint looks half-written, as when `vite dev` starts or a page loads
   * in the middle of a save (a Saver writes the state file before the .meta).
   */
  async firstConversion<T>(convert: () => Promise<T>): Promise<T> {
    const started = Date.now()
    for (let attempt = 0; ; attempt++) {
      try {
        return await convert()
      } catch (error) {
        if (!this.stillBeingWritten(error, started)) throw error
        await backoff(attempt)
      }
    }
  }

  private stillBeingWritten(error: unknown, since: number): boolean {
    return INCOMPLETE.has((error as { code?: string }).code ?? '') && Date.now() - since < this.settleMs
  }

  private publish(entry: ServedModel, model: ConvertedModel): void {
    const previousSignature = JSON.stringify(entry.model.result.signature)
    const previousHash = entry.assets.hash
    const recovered = entry.failed
    entry.failed = false
    this.replace(entry, model)
    // Files landed that change nothing served (a checkpoint's data before its
    // state file names it): no update, unless pages still show an error.
    if (entry.assets.hash === previousHash && !recovered) return
    // A page loaded from now on must get the new descriptor, not Vite's cached
    // transform of the loader (whose URL may no longer be served).
    const module = this.server.moduleGraph.getModuleById(entry.request.id)
    if (module) this.server.moduleGraph.invalidateModule(module)
    if (JSON.stringify(model.result.signature) !== previousSignature) {
      // Inputs or outputs changed: the module itself (and its types) must be rebuilt.
      this.server.ws.send({ type: 'full-reload' })
      return
    }
    const descriptor: Partial<ModelDescriptor> = {
      url: this.url(entry),
      hash: entry.assets.hash,
      sizes: entry.assets.sizes,
      files: entry.assets.files,
    }
    // The loader clears the error overlay on any update, and the runtime tells
    // the app (onUpdate) only when the hash changed.
    this.server.ws.send({ type: 'custom', event: 'tfmodel:update', data: { id: publicId(entry.request), descriptor } })
    const what = entry.assets.hash === previousHash ? 'converts again; the same model is served' : 'new weights served'
    this.server.config.logger.info(`[tfmodel] ${entry.request.relative}: ${what} (${entry.assets.hash})`, { timestamp: true })
  }

  private reportError(entry: ServedModel, error: Error & { code?: string; file?: string }): void {
    entry.failed = true
    this.server.ws.send({
      type: 'error',
      err: {
        message: `unplugin-tfmodel: ${entry.request.relative} could not be converted; the last good model is still served.\n${error.code ? `${error.code}: ` : ''}${error.message}`,
        stack: '',
        id: error.file ?? entry.request.source,
        plugin: 'unplugin-tfmodel',
      },
    })
    this.server.config.logger.error(`[tfmodel] ${entry.request.relative}: ${error.message}`, { timestamp: true })
  }
}

/** Waits before another try at a half-written checkpoint: 100 ms, doubling, at most 1 s. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 1000)))
}

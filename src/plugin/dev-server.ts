// `vite dev`: converted models are served from memory; their source files are
// watched, and a new checkpoint (written while a training loop runs) is
// converted off the main thread and pushed to the page over HMR. A broken
// checkpoint shows in Vite's error overlay while the last good model stays served.
import type { IncomingMessage, ServerResponse } from 'node:http'

import type { ViteDevServer } from 'vite'

import type { ModelDescriptor } from '../runtime/types.js'
import { devAssets, type ModelAssets } from './assets.js'
import type { ConvertedModel, ModelConverter } from './converter.js'
import { type ModelRequest, requestSlug } from './model-request.js'

/** URL path under the server's base where models are served. */
export const DEV_PREFIX = '@tfmodel/'

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
  /** How long to wait for a checkpoint to become complete before reporting it broken. */
  settleMs?: number
}

interface ServedModel {
  request: ModelRequest
  slug: string
  assets: ModelAssets
  model: ConvertedModel
  /** Source files being watched. */
  files: Set<string>
  timer?: ReturnType<typeof setTimeout>
  /** Bumped on every file event, so a slow conversion does not overwrite a newer one. */
  generation: number
}

export class DevModels {
  private readonly served = new Map<string, ServedModel>()
  private readonly debounceMs: number
  private readonly settleMs: number

  constructor(
    private readonly server: ViteDevServer,
    private readonly converter: ModelConverter,
    options: DevServerOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 200
    this.settleMs = options.settleMs ?? 5000
    server.watcher.on('all', (_event, file) => this.onFileEvent(file))
  }

  /** Serves a converted model and watches its files; returns the model.json URL. */
  register(request: ModelRequest, model: ConvertedModel): string {
    const existing = this.served.get(request.id)
    const entry: ServedModel = existing ?? { request, slug: requestSlug(request), assets: devAssets(model), model, files: new Set(), generation: 0 }
    entry.model = model
    entry.assets = devAssets(model)
    this.served.set(request.id, entry)
    this.watch(entry, model.sourceFiles)
    return this.url(entry)
  }

  private readonly files = new Map<string, Uint8Array>()

  /** Serves a static file (the WASM backend's binaries) under a stable URL. */
  serveFile(name: string, data: Uint8Array): string {
    this.files.set(name, data)
    return `${this.server.config.base}${DEV_PREFIX}files/${name}`
  }

  /** True for a file some served model is read from (Vite should not reload the page for it). */
  isSourceFile(file: string): boolean {
    return [...this.served.values()].some((entry) => this.belongsTo(entry, file))
  }

  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!)
    const at = path.indexOf(`/${DEV_PREFIX}`)
    if (at < 0) return next()
    const [slug, hash, ...rest] = path.slice(at + DEV_PREFIX.length + 1).split('/')
    const staticFile = slug === 'files' ? this.files.get(hash ?? '') : undefined
    if (staticFile) {
      res.setHeader('Content-Type', 'application/wasm')
      res.end(Buffer.from(staticFile.buffer, staticFile.byteOffset, staticFile.byteLength))
      return
    }
    const entry = [...this.served.values()].find((e) => e.slug === slug)
    const name = rest.join('/')
    const file = entry && (entry.assets.entry.fileName === name ? entry.assets.entry : entry.assets.shards.find((s) => s.fileName === name))
    if (!entry || !file || entry.assets.hash !== hash) {
      res.statusCode = 404
      res.end(`unplugin-tfmodel: no model file ${path}`)
      return
    }
    res.setHeader('Content-Type', name.endsWith('.json') ? 'application/json' : 'application/octet-stream')
    res.setHeader('Cache-Control', 'no-cache')
    res.setHeader('Content-Length', String(file.data.byteLength))
    res.end(Buffer.from(file.data.buffer, file.data.byteOffset, file.data.byteLength))
  }

  private url(entry: ServedModel): string {
    return `${this.server.config.base}${DEV_PREFIX}${entry.slug}/${entry.assets.hash}/${entry.assets.entry.fileName}`
  }

  private watch(entry: ServedModel, files: string[]): void {
    const watched = [...files]
    // A training directory gains new checkpoint files: watch the directory itself.
    if (entry.request.kind === 'directory') watched.push(entry.request.source)
    for (const file of watched) {
      if (!entry.files.has(file)) {
        entry.files.add(file)
        this.server.watcher.add(file)
      }
    }
  }

  private belongsTo(entry: ServedModel, file: string): boolean {
    if (entry.files.has(file)) return true
    if (entry.request.kind === 'directory') return file.startsWith(`${entry.request.source}/`)
    // Any file of the checkpoint prefix (a shard count may change).
    return entry.request.kind === 'checkpoint' && file.startsWith(`${entry.request.source}.`)
  }

  private onFileEvent(file: string): void {
    for (const entry of this.served.values()) {
      if (!this.belongsTo(entry, file)) continue
      entry.generation++
      clearTimeout(entry.timer)
      entry.timer = setTimeout(() => void this.reconvert(entry, entry.generation), this.debounceMs)
    }
  }

  /** Converts again, retrying while the checkpoint looks half-written. */
  private async reconvert(entry: ServedModel, generation: number): Promise<void> {
    const started = Date.now()
    for (let attempt = 0; ; attempt++) {
      if (generation !== entry.generation) return // newer file events: that run takes over
      try {
        const model = await this.converter.convert(entry.request)
        if (generation !== entry.generation) return
        this.publish(entry, model)
        return
      } catch (error) {
        const code = (error as { code?: string }).code ?? ''
        if (INCOMPLETE.has(code) && Date.now() - started < this.settleMs) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 1000)))
          continue
        }
        if (generation === entry.generation) this.reportError(entry, error as Error)
        return
      }
    }
  }

  private publish(entry: ServedModel, model: ConvertedModel): void {
    const previousSignature = JSON.stringify(entry.model.result.signature)
    entry.model = model
    entry.assets = devAssets(model)
    this.watch(entry, model.sourceFiles)
    const signatureChanged = JSON.stringify(model.result.signature) !== previousSignature
    if (signatureChanged) {
      // Inputs or outputs changed: the module itself (and its types) must be rebuilt.
      const module = this.server.moduleGraph.getModuleById(entry.request.id)
      if (module) this.server.moduleGraph.invalidateModule(module)
      this.server.ws.send({ type: 'full-reload' })
      return
    }
    const descriptor: Partial<ModelDescriptor> = {
      url: this.url(entry),
      hash: entry.assets.hash,
      sizes: entry.assets.sizes,
      files: entry.assets.files,
    }
    this.server.ws.send({ type: 'custom', event: 'tfmodel:update', data: { id: entry.request.id.replace(/^\0/, ''), descriptor } })
    this.server.config.logger.info(`[tfmodel] ${entry.request.relative}: new weights served (${entry.assets.hash})`, { timestamp: true })
  }

  private reportError(entry: ServedModel, error: Error & { code?: string; file?: string }): void {
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

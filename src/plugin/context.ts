// What the plugin's hooks do, without any bundler in it: resolve model
// imports, convert them (cached), and produce the loader module; the hooks in
// index.ts only hand off to this.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import type { Signature } from '../runtime/types.js'
import { devAssets, hashedAssets, type ModelAssets } from './assets.js'
import { type ConvertedModel, ModelConverter } from './converter.js'
import type { DevModels } from './dev-server.js'
import { parseDirectives } from './directives.js'
import { DeclarationFile, type DeclaredImport } from './dts.js'
import { modelTfOps, TFJS_PART_ID, TfjsParts } from './kernels.js'
import { TFJS_KERNELS } from './tfjs-kernels.js'
import { type InstalledPackages, installedPackages, type LiteRtFiles, loaderModule, packageNames, urlModule } from './loader-module.js'
import { isModelId, type ModelRequest, modelId, modelSource, requestFromId, requestSlug, resolveModelImport } from './model-request.js'
import { type Options, type ResolvedOptions, resolveOptions } from './options.js'

/** How the bundler at hand turns an emitted file into a URL in code. */
export interface AssetEmitter {
  /** Emits a file; returns a JavaScript expression of its URL. */
  emit(fileName: string, data: Uint8Array): string
  /** The folder emitted assets go in (Vite's `build.assetsDir`). */
  assetsDir: string
}

export class PluginContext {
  options!: ResolvedOptions
  converter!: ModelConverter
  dev: DevModels | undefined
  private dts: DeclarationFile | undefined
  private packages: InstalledPackages | undefined
  private parts: TfjsParts | undefined
  /** The WASM binaries with content-hashed names, read once. */
  private wasmBinaries: { name: string; data: Uint8Array }[] | undefined
  /** LiteRT.js's glue scripts and binaries with content-hashed names, read once. */
  private litertBinaries: Record<string, { js: HashedFile; wasm: HashedFile }> | undefined
  /** The first module importing each model id, for error messages. */
  private readonly importers = new Map<string, { importer: string | undefined; specifier: string }>()
  /** For the declaration file: every model import as written → the ids it resolved to → the modules that wrote it. */
  private readonly dtsSpecifiers = new Map<string, Map<string, Set<string>>>()
  /** For the declaration file: each converted id's source and signature (undefined for `?url`). */
  private readonly dtsTypes = new Map<string, { source: string; signature: Signature | undefined }>()
  /** A model of the current build failed to convert: the build knows only part of the app's imports. */
  private conversionFailed = false

  /** Files emitted in the current build → their URL expression (an import and its `?url` share files). */
  private readonly emitted = new Map<string, string>()

  /** `virtualIds`: whether model ids may start with `\0` (all bundlers but esbuild). */
  constructor(
    private readonly rawOptions: Options | undefined,
    private readonly virtualIds = true,
  ) {
    this.setRoot(undefined)
  }

  /** (Re-)resolves options once the bundler says where the project root is. */
  setRoot(root: string | undefined): void {
    this.options = resolveOptions(this.rawOptions, root)
    this.converter = new ModelConverter(this.options)
    this.dts = this.options.dts ? new DeclarationFile(this.options.dts, (source) => modelSource(source) !== undefined) : undefined
    this.packages = undefined
    this.parts = undefined
    this.wasmBinaries = undefined
    this.litertBinaries = undefined
  }

  /** A context for one Vite worker bundle: this one's options, conversions and declaration file,
   * but its own record of emitted files, since the worker bundle emits into a build of its own. */
  forWorker(): PluginContext {
    const worker = new PluginContext(this.rawOptions, this.virtualIds)
    worker.options = this.options
    worker.converter = this.converter
    worker.dts = this.dts
    return worker
  }

  resolveId(specifier: string, importer: string | undefined): string | undefined {
    const part = this.tfjsParts?.resolveId(specifier, importer)
    if (part) return part
    let id: string
    try {
      const found = resolveModelImport(specifier, importer, this.options.root)
      if (!found) return undefined
      id = modelId(found.source, parseDirectives(found.query), this.virtualIds)
    } catch (error) {
      throw this.explain(error, importer, specifier)
    }
    if (!this.importers.has(id)) this.importers.set(id, { importer, specifier })
    this.noteImport(specifier, id, importer)
    return id
  }

  isModelId(id: string): boolean {
    return isModelId(id)
  }

  /** Converts the model behind `id`; errors name the importer and the model file. */
  async convert(id: string): Promise<{ request: ModelRequest; model: ConvertedModel }> {
    const origin = this.importers.get(id)
    try {
      const request = requestFromId(id, this.options)
      const convert = () => this.converter.convert(request)
      // In dev, a model's first load may land mid-save; later ones fall back to the last good model.
      return { request, model: await (this.dev && !this.dev.lastGood(id) ? this.dev.firstConversion(convert) : convert()) }
    } catch (error) {
      this.conversionFailed = true
      throw this.explain(error, origin?.importer, origin?.specifier ?? id.replace(/^\0/, ''))
    }
  }

  /** The loader module for a build: assets emitted with content-hashed names. */
  buildModule(request: ModelRequest, model: ConvertedModel, emitter: AssetEmitter): string {
    const assets = hashedAssets(model, requestSlug(request), emitter.assetsDir)
    const emit = (file: { fileName: string; data: Uint8Array }) => {
      let expression = this.emitted.get(file.fileName)
      if (expression === undefined) {
        expression = emitter.emit(file.fileName, file.data)
        this.emitted.set(file.fileName, expression)
      }
      return expression
    }
    assets.shards.forEach(emit)
    const publish = (name: string, data: Uint8Array) => emit({ fileName: `${emitter.assetsDir}/${name}`, data })
    return this.moduleSource(request, model, assets, emit(assets.entry), false, publish)
  }

  /** A new build (or watch rebuild) emits its files afresh. */
  startBuild(): void {
    this.emitted.clear()
    this.conversionFailed = false
  }

  /** The loader module in `vite dev`: the model is served from memory and updates over HMR. */
  devModule(request: ModelRequest, model: ConvertedModel, dev: DevModels): string {
    const url = dev.register(request, model)
    return this.moduleSource(request, model, devAssets(model), JSON.stringify(url), true, (name, data) => JSON.stringify(dev.serveFile(name, data)))
  }

  private get installed(): InstalledPackages {
    this.packages ??= installedPackages(this.options.root, this.options.backends)
    return this.packages
  }

  /** Serves the WASM backend's binaries from the app's own files: `publish` returns a URL expression. */
  private wasmFiles(publish: (name: string, data: Uint8Array) => string): { plain: string; simd: string } | undefined {
    const files = this.installed.wasmFiles
    if (!files) return undefined
    this.wasmBinaries ??= [files.plain, files.simd].map(hashedFile)
    const [plain, simd] = this.wasmBinaries.map((binary) => publish(binary.name, binary.data))
    return { plain: plain!, simd: simd! }
  }

  /** Serves LiteRT.js's builds from the app's own files (never a CDN): `publish` returns a URL expression. */
  private litertFiles(publish: (name: string, data: Uint8Array) => string): LiteRtFiles | undefined {
    const files = this.installed.litertFiles
    if (!files) return undefined
    this.litertBinaries ??= Object.fromEntries(Object.entries(files).map(([build, f]) => [build, { js: hashedFile(f.js), wasm: hashedFile(f.wasm) }]))
    return Object.fromEntries(
      Object.entries(this.litertBinaries).map(([build, f]) => [build, { js: publish(f.js.name, f.js.data), wasm: publish(f.wasm.name, f.wasm.data) }]),
    ) as LiteRtFiles
  }

  private moduleSource(
    request: ModelRequest,
    model: ConvertedModel,
    assets: ModelAssets,
    urlExpression: string,
    hot: boolean,
    publish: (name: string, data: Uint8Array) => string,
  ): string {
    this.recordTypes(request, model)
    if (request.settings.url) return urlModule(urlExpression)
    const tflite = request.settings.format === 'tflite'
    const wasmUrls = tflite ? undefined : this.wasmFiles(publish)
    const litertUrls = tflite ? this.litertFiles(publish) : undefined
    const packages = this.installed
    const pruned = hot || request.settings.format !== 'tfjs' ? undefined : this.tfjsParts?.imports(modelTfOps(model.files[0]!.data), packages.backends)
    return loaderModule({
      request,
      model,
      assets,
      urlExpression,
      runtimePath: runtimePath(),
      packages,
      hot,
      ...(wasmUrls && { wasmUrls }),
      ...(litertUrls && { litertUrls }),
      ...(pruned && { pruned }),
    })
  }

  /** The part of TF.js a build bundles, when only its models' (`kernels: 'model'`, never in dev, and
   * only for the TF.js version the kernel table was generated from). */
  private get tfjsParts(): TfjsParts | undefined {
    if (this.options.kernels !== 'model' || this.dev || !this.installed.tfjs || this.installed.version !== TFJS_KERNELS.version) return undefined
    this.parts ??= new TfjsParts(this.options.root, this.virtualIds, runtimePath())
    return this.parts
  }

  isTfjsPart(id: string): boolean {
    return TFJS_PART_ID.test(id)
  }

  /** The source of a TF.js module the build puts together or replaces. */
  tfjsPart(id: string): string | undefined {
    return this.tfjsParts?.load(id)
  }

  /** The TF.js packages the app has installed that the loader imports: for Vite to pre-bundle,
   * so the first visit in dev does not reload when it discovers them. */
  tfjsPackages(root: string): string[] {
    const { root: appRoot, backends } = resolveOptions(this.rawOptions, root)
    return packageNames(installedPackages(appRoot, backends))
  }

  /** After a build: merges this build's model imports into the declaration file. Not after a
   * failed build (`buildError`, or a model that did not convert): it saw only part of the app. */
  writeDeclarations(buildError?: unknown): void {
    if (buildError || this.conversionFailed) return
    this.writeDts()
  }

  private writeDts(): void {
    if (!this.dts) return
    const imports: DeclaredImport[] = []
    for (const [specifier, ids] of this.dtsSpecifiers) {
      for (const [id, importers] of ids) {
        const types = this.dtsTypes.get(id)
        if (types) imports.push({ specifier, source: types.source, importers: [...importers], signature: types.signature })
      }
    }
    this.dts.write(imports)
  }

  private noteImport(specifier: string, id: string, importer: string | undefined): void {
    const ids = this.dtsSpecifiers.get(specifier) ?? new Map<string, Set<string>>()
    const importers = ids.get(id) ?? new Set<string>()
    if (importer) importers.add(importer)
    ids.set(id, importers)
    this.dtsSpecifiers.set(specifier, ids)
  }

  /** Dev writes the declaration file as soon as it learns new types; a build writes it at its end. */
  private recordTypes(request: ModelRequest, model: ConvertedModel): void {
    const signature = request.settings.url ? undefined : model.result.signature
    const before = this.dtsTypes.get(request.id)
    this.dtsTypes.set(request.id, { source: request.source, signature })
    const changed = !before || JSON.stringify(before.signature) !== JSON.stringify(signature)
    if (changed && this.dev) this.writeDts()
  }

  /** What a build should hear about a model: unsupported ops (when the op check only warns), lossy values. */
  warnings(model: ConvertedModel): string[] {
    const ops = model.result.unsupportedOps.map((op) => `TF.js cannot run ${op}`)
    const { tfjs, version } = this.installed
    const table = TFJS_KERNELS.version
    const all =
      this.options.kernels === 'model' && !this.dev && tfjs && version !== table
        ? [`bundling all of TF.js: its kernel table is for TF.js ${table}, the app has ${version ?? 'packages of different versions'}`]
        : []
    return [...ops, ...all, ...model.result.warnings].map((warning) => `unplugin-tfmodel: ${warning}`)
  }

  private explain(error: unknown, importer: string | undefined, specifier: string): Error {
    const original = (error instanceof Error ? error : new Error(String(error))) as Error & CoreErrorFields
    const where = importer ? `${importer}: ` : ''
    const code = original.code ? `${original.code}: ` : ''
    // Inferred outputs that cannot be converted: say which import would work.
    const outputs = original.outputsToName ?? []
    const path = specifier.split('?')[0]!
    const hint = outputs.length > 0 ? `; import "${path}?outputs=${outputs.join(',')}" instead` : ''
    const explained = new Error(`${where}cannot import "${specifier}": ${code}${original.message}${hint}`, { cause: error })
    const { code: errorCode, file, subject, suggestions } = original
    return Object.assign(explained, { code: errorCode, file, subject, suggestions, outputsToName: outputs })
  }
}

interface HashedFile {
  name: string
  data: Uint8Array
}

/** A package's file under a content-hashed name (`x.wasm` → `x-<hash>.wasm`). */
function hashedFile(path: string): HashedFile {
  const data = new Uint8Array(readFileSync(path))
  const hash = createHash('sha256').update(data).digest('hex').slice(0, 10)
  return { name: basename(path).replace(/\.(\w+)$/, `-${hash}.$1`), data }
}

interface CoreErrorFields {
  code?: string
  file?: string
  subject?: string
  suggestions?: string[]
  outputsToName?: string[]
}

/** The runtime's built file, imported by absolute path so any bundler finds it. */
export function runtimePath(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  // src/plugin or dist/plugin: the package root is two folders up.
  return join(here, '..', '..', 'dist', 'runtime', 'index.js').split('\\').join('/')
}

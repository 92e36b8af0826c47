// Source of the module a model import turns into: `{ url, signature, sizes,
// load() }` built by the runtime's `createModel`, with TF.js and the app's
// installed backends (or LiteRT.js, for a `.tflite`) imported lazily.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

import type { BackendName, LiteRtBuild, ModelDescriptor } from '../runtime/types.js'
import type { ModelAssets } from './assets.js'
import type { ConvertedModel } from './converter.js'
import type { PrunedImports } from './kernels.js'
import { type ModelRequest, publicId } from './model-request.js'

export interface LoaderModuleParts {
  request: ModelRequest
  model: ConvertedModel
  assets: ModelAssets
  /** A JavaScript expression evaluating to the entry file's URL. */
  urlExpression: string
  /** Import path of the runtime (absolute, so any bundler resolves it). */
  runtimePath: string
  /** TF.js packages installed in the app. */
  packages: InstalledPackages
  /** Subscribe to dev-server updates through `import.meta.hot`. */
  hot: boolean
  /** URL expressions of the WASM backend's binaries, served with the app (never from a CDN). */
  wasmUrls?: { plain: string; simd: string }
  /** Set when the build bundles only the part of TF.js its models use: what to import instead of the packages. */
  pruned?: PrunedImports
  /** For a `.tflite`: URL expressions of LiteRT.js's builds, served with the app. */
  litertUrls?: LiteRtFiles
}

/** LiteRT.js's glue script and binary for each build the loader may pick (paths, or URL expressions). */
export type LiteRtFiles = Record<LiteRtBuild, { js: string; wasm: string }>

export interface InstalledPackages {
  tfjs: boolean
  backends: BackendName[]
  /** The WASM backend's binaries, when it is installed. */
  wasmFiles?: { plain: string; simd: string }
  /** The version of TF.js core, the converter and the backends, when they have one. */
  version?: string
  /** LiteRT.js's builds, when `@litertjs/core` is installed. */
  litertFiles?: LiteRtFiles
}

export const LITERT_PACKAGE = '@litertjs/core'

/** The files of each LiteRT.js build in its `wasm/` folder; the threaded and JSPI builds are never shipped. */
const LITERT_BUILDS: Record<LiteRtBuild, string> = { compat: 'litert_wasm_compat_internal', relaxedSimd: 'litert_wasm_internal' }

/** The TF.js packages a loader imports besides the backends. */
const TFJS_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-converter'] as const

const BACKEND_PACKAGES: Record<BackendName, string> = {
  webgl: '@tensorflow/tfjs-backend-webgl',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
}

/** Which TF.js packages the app at `root` can import. */
export function installedPackages(root: string, backends: BackendName[]): InstalledPackages {
  const require = createRequire(join(root, 'package.json'))
  const versionOf = (name: string) => {
    try {
      return (require(`${name}/package.json`) as { version: string }).version
    } catch {
      return undefined
    }
  }
  const has = (name: string) => versionOf(name) !== undefined
  const installed = backends.filter((b) => has(BACKEND_PACKAGES[b]))
  const versions = new Set([...TFJS_PACKAGES, ...installed.map((b) => BACKEND_PACKAGES[b])].map(versionOf))
  const wasmDir = installed.includes('wasm') ? dirname(require.resolve(`${BACKEND_PACKAGES.wasm}/package.json`)) : undefined
  const litertDir = has(LITERT_PACKAGE) ? join(dirname(require.resolve(`${LITERT_PACKAGE}/package.json`)), 'wasm') : undefined
  return {
    tfjs: TFJS_PACKAGES.every(has),
    backends: installed,
    ...(versions.size === 1 && { version: [...versions][0] }),
    ...(wasmDir && {
      wasmFiles: { plain: join(wasmDir, 'dist', 'tfjs-backend-wasm.wasm'), simd: join(wasmDir, 'dist', 'tfjs-backend-wasm-simd.wasm') },
    }),
    ...(litertDir && {
      litertFiles: Object.fromEntries(
        Object.entries(LITERT_BUILDS).map(([build, stem]) => [build, { js: join(litertDir, `${stem}.js`), wasm: join(litertDir, `${stem}.wasm`) }]),
      ) as LiteRtFiles,
    }),
  }
}

/** The package names of what `installed` holds, as the loader imports them. */
export function packageNames(installed: InstalledPackages): string[] {
  const tfjs = installed.tfjs ? [...TFJS_PACKAGES] : []
  return [...tfjs, ...installed.backends.map((b) => BACKEND_PACKAGES[b])]
}

function backendImport(backend: BackendName, specifier: string, wasmUrls: LoaderModuleParts['wasmUrls']): string {
  const load = `import(${JSON.stringify(specifier)})`
  if (backend !== 'wasm' || !wasmUrls) return load
  // Threads stay off (an app's webview is rarely cross-origin isolated), so the
  // threaded binary is never fetched; TF.js still wants a path for it.
  const paths = `{ "tfjs-backend-wasm.wasm": ${wasmUrls.plain}, "tfjs-backend-wasm-simd.wasm": ${wasmUrls.simd}, "tfjs-backend-wasm-threaded-simd.wasm": ${wasmUrls.simd} }`
  return `${load}.then((wasm) => { wasm.setWasmPaths(${paths}); return wasm })`
}

export function urlModule(urlExpression: string): string {
  return `export default ${urlExpression}\n`
}

export function loaderModule(parts: LoaderModuleParts): string {
  const { request, model, assets, packages } = parts
  const descriptor: Omit<ModelDescriptor, 'url' | 'tfjs' | 'backends'> = {
    id: publicId(request),
    hash: assets.hash,
    format: request.settings.format,
    signature: model.result.signature,
    sizes: assets.sizes,
    files: assets.files,
    executeAsync: model.result.executeAsync,
    quantization: request.settings.quantize ?? null,
  }
  const lines = [
    `import { createModel } from ${JSON.stringify(parts.runtimePath)}`,
    `const descriptor = ${JSON.stringify(descriptor, null, 2)}`,
    `descriptor.url = ${parts.urlExpression}`,
  ]
  const { pruned, litertUrls } = parts
  if (request.settings.format === 'tflite') {
    // A .tflite runs on LiteRT.js alone: no TF.js is imported for it.
    if (litertUrls) {
      const builds = Object.entries(litertUrls).map(([build, urls]) => `  ${build}: { js: ${urls.js}, wasm: ${urls.wasm} },`)
      lines.push(`descriptor.litert = () => import(${JSON.stringify(LITERT_PACKAGE)})`, `descriptor.litertWasm = {\n${builds.join('\n')}\n}`)
    }
  } else if (packages.tfjs) {
    const [core, converter] = TFJS_PACKAGES
    lines.push(`descriptor.tfjs = () => Promise.all([${[pruned?.tfjs ?? core, converter].map((p) => `import(${JSON.stringify(p)})`).join(', ')}])`)
  }
  if (request.settings.format !== 'tflite') {
    const backends = packages.backends.map((b) => `  ${b}: () => ${backendImport(b, pruned?.backends[b] ?? BACKEND_PACKAGES[b], parts.wasmUrls)},`)
    lines.push(`descriptor.backends = {\n${backends.join('\n')}\n}`)
  }
  if (pruned) lines.push(`descriptor.kernels = ${JSON.stringify(pruned.kernels)}`)
  lines.push('const model = createModel(descriptor)', 'export default model')
  if (parts.hot) {
    lines.push(
      'if (import.meta.hot) {',
      '  import.meta.hot.on("tfmodel:update", (update) => {',
      '    if (update.id !== descriptor.id) return',
      // A good model is served again: the error Vite's overlay shows is over.
      '    if (typeof document !== "undefined") for (const overlay of document.querySelectorAll("vite-error-overlay")) overlay.close?.()',
      '    model.update(update.descriptor)',
      '  })',
      '}',
    )
  }
  return `${lines.join('\n')}\n`
}

// Source of the module a model import turns into: `{ url, signature, sizes,
// load() }` built by the runtime's `createModel`, with TF.js and the app's
// installed backends imported lazily.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

import type { BackendName, ModelDescriptor } from '../runtime/types.js'
import type { ModelAssets } from './assets.js'
import type { ConvertedModel } from './converter.js'
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
}

export interface InstalledPackages {
  tfjs: boolean
  backends: BackendName[]
  /** The WASM backend's binaries, when it is installed. */
  wasmFiles?: { plain: string; simd: string }
}

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
  const has = (name: string) => {
    try {
      require.resolve(`${name}/package.json`)
      return true
    } catch {
      return false
    }
  }
  const installed = backends.filter((b) => has(BACKEND_PACKAGES[b]))
  const wasmDir = installed.includes('wasm') ? dirname(require.resolve(`${BACKEND_PACKAGES.wasm}/package.json`)) : undefined
  return {
    tfjs: TFJS_PACKAGES.every(has),
    backends: installed,
    ...(wasmDir && {
      wasmFiles: { plain: join(wasmDir, 'dist', 'tfjs-backend-wasm.wasm'), simd: join(wasmDir, 'dist', 'tfjs-backend-wasm-simd.wasm') },
    }),
  }
}

/** The package names of what `installed` holds, as the loader imports them. */
export function packageNames(installed: InstalledPackages): string[] {
  const tfjs = installed.tfjs ? [...TFJS_PACKAGES] : []
  return [...tfjs, ...installed.backends.map((b) => BACKEND_PACKAGES[b])]
}

function backendImport(backend: BackendName, wasmUrls: LoaderModuleParts['wasmUrls']): string {
  const load = `import(${JSON.stringify(BACKEND_PACKAGES[backend])})`
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
  if (packages.tfjs) {
    lines.push(`descriptor.tfjs = () => Promise.all([${TFJS_PACKAGES.map((p) => `import(${JSON.stringify(p)})`).join(', ')}])`)
  }
  const backends = packages.backends.map((b) => `  ${b}: () => ${backendImport(b, parts.wasmUrls)},`)
  lines.push(`descriptor.backends = {\n${backends.join('\n')}\n}`, 'const model = createModel(descriptor)', 'export default model')
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

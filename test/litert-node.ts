// LiteRT.js in Node, for tests: its glue is a classic browser script, so give
// it what it looks for (`self`, `importScripts`, and CommonJS's `require`).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import vm from 'node:vm'

import { createModel } from '../dist/runtime/index.js'
import type { ModelDescriptor, Signature } from '../src/runtime/types.js'
import { root } from './fixtures.js'

const require = createRequire(import.meta.url)
const g = globalThis as Record<string, unknown>
g.self ??= globalThis
g.importScripts ??= (url: string) => {
  const file = fileURLToPath(url)
  const wrapped = `(function (require, __dirname, __filename) {${readFileSync(file, 'utf8')}\nglobalThis.ModuleFactory = ModuleFactory})`
  ;(vm.runInThisContext(wrapped, { filename: file }) as (r: NodeRequire, d: string, f: string) => void)(require, dirname(file), file)
}

const wasmDir = join(root, 'node_modules', '@litertjs', 'core', 'wasm')
const build = (stem: string) => ({ js: pathToFileURL(join(wasmDir, `${stem}.js`)).href, wasm: pathToFileURL(join(wasmDir, `${stem}.wasm`)).href })

/** `fetch` for file: URLs (Node's own does not take them). */
export const fileFetch: typeof fetch = async (url) => new Response(readFileSync(fileURLToPath(String(url))))

/** A model import's object for a .tflite on disk, as a loader module would describe it. */
export function tfliteModel(path: string, signature: Signature) {
  const bytes = readFileSync(path).byteLength
  const descriptor: ModelDescriptor = {
    id: path,
    url: pathToFileURL(path).href,
    hash: '',
    format: 'tflite',
    signature,
    sizes: { modelJson: bytes, weights: 0, float32Weights: 0, total: bytes },
    files: [],
    executeAsync: false,
    quantization: null,
    litert: () => import('@litertjs/core'),
    litertWasm: { compat: build('litert_wasm_compat_internal'), relaxedSimd: build('litert_wasm_internal') },
  }
  return createModel(descriptor)
}

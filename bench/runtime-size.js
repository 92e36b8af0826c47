// The runtime's bytes for the detector in examples/web on TF.js: every JS
// chunk a Vite build of the page emits (the app, our runtime and the part of
// TF.js it loads for WebGL, WASM and CPU; not LiteRT.js's, which only the
// page's ?format=tflite route loads), minified as Vite ships it and gzipped,
// built with only the detector's kernels (`kernels: 'model'`, the default)
// and with all of TF.js (`kernels: 'all'`); against the five full TF.js
// bundles (dist/*.min.js of core, converter, webgl, wasm and cpu). gzip is
// zlib at level 9, as Vite reports it; kB are 1000 bytes. Needs no
// TensorFlow; writes bench/out/runtime-size.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

import { build, loadConfigFromFile } from 'vite'

import tfmodel from '../dist/vite.js'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const out = join(root, 'bench', 'out')
const require = createRequire(import.meta.url)
const TFJS_BUNDLES = {
  '@tensorflow/tfjs-core': 'tf-core.min.js',
  '@tensorflow/tfjs-converter': 'tf-converter.min.js',
  '@tensorflow/tfjs-backend-webgl': 'tf-backend-webgl.min.js',
  '@tensorflow/tfjs-backend-wasm': 'tf-backend-wasm.min.js',
  '@tensorflow/tfjs-backend-cpu': 'tf-backend-cpu.min.js',
}

function sizes(contents) {
  let minified = 0
  let gzipped = 0
  for (const bytes of contents) {
    minified += bytes.length
    gzipped += gzipSync(bytes, { level: 9 }).length
  }
  return { minified, gzipped, files: contents.length }
}

const isLiteRt = (id) => id.includes('/node_modules/@litertjs/')

/** examples/web as `npm run example` builds it, with the plugin's `kernels` set. */
async function buildExample(kernels) {
  const configFile = join(root, 'examples', 'web', 'vite.config.ts')
  const { config } = await loadConfigFromFile({ command: 'build', mode: 'production' }, configFile)
  const outDir = join(out, 'runtime-size', kernels)
  const result = await build({
    ...config,
    configFile: false,
    logLevel: 'warn',
    // The example's own plugin, without writing its declaration file.
    plugins: [tfmodel({ dts: false, kernels })],
    build: { ...config.build, outDir, emptyOutDir: true },
  })
  // Chunks, not assets (LiteRT.js's emitted glue scripts are assets), and not LiteRT.js's own chunk.
  const chunks = (Array.isArray(result) ? result[0] : result).output.filter((item) => item.type === 'chunk')
  return sizes(chunks.filter((chunk) => !chunk.moduleIds.every(isLiteRt)).map((chunk) => Buffer.from(chunk.code)))
}

const model = await buildExample('model')
const all = await buildExample('all')
const bundles = sizes(Object.entries(TFJS_BUNDLES).map(([pkg, file]) => readFileSync(join(dirname(require.resolve(`${pkg}/package.json`)), 'dist', file))))
const tfjsVersion = require('@tensorflow/tfjs-core/package.json').version

const kB = (bytes) => `${(bytes / 1000).toFixed(1)} kB`.padStart(10)
const rows = [
  ["examples/web, kernels: 'model'", model],
  ["examples/web, kernels: 'all'", all],
  [`TF.js ${tfjsVersion} dist/*.min.js (5 bundles)`, bundles],
]
console.log(`\nRuntime bytes of the detector page on TF.js (every JS chunk but LiteRT.js's), against the full TF.js bundles`)
console.log(`${''.padEnd(40)}${'minified'.padStart(10)}${'gzipped'.padStart(10)}  files`)
for (const [label, s] of rows) console.log(`${label.padEnd(40)}${kB(s.minified)}${kB(s.gzipped)}  ${s.files}`)
const ratio = { minified: model.minified / bundles.minified, gzipped: model.gzipped / bundles.gzipped }
console.log(`kernels: 'model' ÷ TF.js bundles: ${ratio.minified.toFixed(2)} minified, ${ratio.gzipped.toFixed(2)} gzipped`)

mkdirSync(out, { recursive: true })
writeFileSync(join(out, 'runtime-size.json'), `${JSON.stringify({ tfjsVersion, model, all, bundles, ratio }, null, 2)}\n`)

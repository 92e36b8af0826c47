// Builds that bundle only their models' part of TF.js (`kernels: 'model'`):
// the kernel table names every kernel TF.js itself runs for the fixtures; a
// kernel or op a build left out is a MISSING_KERNEL that names it and the
// option; and a two-model app built by each bundler registers only what its
// models need, yet computes in Chromium what TensorFlow did, on every backend.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { convert, type ConvertRequest } from '../src/native.js'
import { runtimePath } from '../src/plugin/context.js'
import type { Options } from '../src/plugin/index.js'
import { modelTfOps, TfjsParts } from '../src/plugin/kernels.js'
import type { BackendName, TfModel } from '../src/runtime/index.js'
import { TFJS_CORE_API } from '../src/runtime/tfjs-api.js'
import { buildApp, outDirFor, runWebpack } from './bundlers.js'
import { type Detection, expectSameDetections, haveChromium, launch } from './chromium.js'
import { fixture, fixturesDir, type JsonTensor, manifest, readJson, root } from './fixtures.js'
import { serveStatic } from './static-server.js'
import { floats, loadGraph, maxRelativeError, run, tf } from './tfjs-loader.js'

interface IoFile {
  inputs: Record<string, JsonTensor>
  outputs: Record<string, JsonTensor>
}

const BACKENDS: BackendName[] = ['webgl', 'wasm', 'cpu']
const parts = new TfjsParts(root, true, runtimePath())
const cacheDir = mkdtempSync(join(tmpdir(), 'tfmodel-kernels-cache-'))

/** What the plugin registers for a model.json on `backends`. */
function registered(modelJsonPath: string, backends: BackendName[]): string[] {
  return parts.imports(modelTfOps(readFileSync(modelJsonPath)), backends).kernels
}

async function convertTo(request: Omit<ConvertRequest, 'outputDir'>): Promise<string> {
  const outputDir = mkdtempSync(join(tmpdir(), 'tfmodel-kernels-'))
  await convert({ ...request, outputDir })
  return join(outputDir, 'model.json')
}

// Every fixture with TensorFlow's inputs: the top-level ones, and the training scripts' checkpoints.
const trainingRoot = join(fixturesDir, 'training')
const training = readJson<{ fixtures: Record<string, { source: string; io: string[]; error?: unknown }> }>(join(trainingRoot, 'manifest.json')).fixtures
const cases: { name: string; request: Omit<ConvertRequest, 'outputDir'>; io: string }[] = [
  ...Object.entries(manifest.fixtures)
    .filter(([, spec]) => spec.io && spec.output_node_names.length > 0)
    .map(([name]) => {
      const spec = fixture(name)
      return {
        name,
        request: {
          source: spec.path(spec.checkpoint ?? spec.graph!),
          inputGraph: spec.meta ? undefined : spec.graph ? spec.path(spec.graph) : undefined,
          outputNodeNames: spec.output_node_names,
        },
        io: spec.path(spec.io!),
      }
    }),
  ...Object.entries(training)
    .filter(([, spec]) => !spec.error)
    .map(([name, spec]) => ({ name: `training/${name}`, request: { source: join(trainingRoot, name, spec.source) }, io: join(trainingRoot, name, spec.io[0]!) })),
]

describe('the kernel table', () => {
  it.each(cases.map((c) => [c.name, c] as const))('names every kernel TF.js runs for %s', async (_, { request, io }) => {
    const modelJson = await convertTo(request)
    const { model } = await loadGraph(modelJson)
    const { inputs, outputs } = readJson<IoFile>(io)
    // The loading itself (weights, initializers) dispatches kernels too.
    const profile = await tf.profile(async () => {
      await run(model, inputs, Object.keys(outputs))
    })
    model.dispose()
    // The profile also names ops with custom gradients (`fusedConv2d__op`); the kernels are what the backend registered.
    const ran = profile.kernelNames.filter((k) => tf.getKernel(k, 'cpu') !== undefined)
    expect(ran.length).toBeGreaterThan(0)
    expect(ran.filter((k) => !registered(modelJson, ['cpu']).includes(k))).toEqual([])
  })
})

describe('a kernel or op the build left out', () => {
  let model: TfModel & { update(next: object): void }
  let kernels: string[]
  const files = (async (input: string | URL | Request) => new Response(readFileSync(new URL(input.toString())))) as typeof fetch

  beforeAll(async () => {
    // TF.js stays external in this build, so the test's TF.js is the app's: a kernel it unregisters is gone for the app.
    const appDir = join(root, 'test', 'apps', 'basic')
    const outDir = outDirFor('kernels-runtime')
    await buildApp('rollup', appDir, join(appDir, 'src', 'main.js'), outDir, { cacheDir, dts: false })
    model = ((await import(pathToFileURL(join(outDir, 'main.js')).href)) as { model: typeof model }).model
    const modelJson = await convertTo({ source: fixture('convnet').path('model.ckpt') })
    kernels = registered(modelJson, ['cpu'])
    model.update({ backends: { cpu: () => import('@tensorflow/tfjs-backend-cpu') } })
  })

  it('is MISSING_KERNEL naming the kernel and the option, with or without a backend asked for; a kernel the backend lacks is not', async () => {
    await import('@tensorflow/tfjs-backend-cpu')
    expect(kernels).toContain('Softmax')
    const softmax = tf.getKernel('Softmax', 'cpu')!
    tf.unregisterKernel('Softmax', 'cpu')
    try {
      model.update({ kernels: kernels.filter((k) => k !== 'Softmax') })
      for (const backend of ['cpu', undefined] as const) {
        const error = await model.load({ fetch: files, ...(backend && { backend }) }).then(
          () => undefined,
          (e: unknown) => e as { code: string; subject: string; message: string },
        )
        expect(error?.code, String(error?.message)).toBe('MISSING_KERNEL')
        expect(error?.subject).toBe('Softmax')
        expect(error?.message).toContain("kernels: 'all'")
        expect(error?.message).toContain('fixtures/convnet/model.ckpt')
      }
      // On the list, the kernel is the backend's to lack (as it would be without pruning).
      model.update({ kernels })
      const lacking = await model.load({ fetch: files, backend: 'cpu' }).catch((e: unknown) => e as { code: string })
      expect((lacking as { code?: string }).code).toBe('BACKEND_UNSUPPORTED')
    } finally {
      tf.registerKernel(softmax)
    }
    const loaded = await model.load({ fetch: files, backend: 'cpu' })
    loaded.dispose()
  })

  it('a converter op no model provided is MISSING_KERNEL naming the op; a provided one runs', async () => {
    const source = parts.load('\0tfmodel-tfjs.ops-for-converter.js')!
    const file = join(mkdtempSync(join(tmpdir(), 'tfmodel-ops-')), 'ops.mjs')
    writeFileSync(file, source)
    const ops = (await import(pathToFileURL(file).href)) as {
      provideOps(ops: Record<string, unknown>): void
      conv2d(...args: unknown[]): unknown
      image: { cropAndResize(...args: unknown[]): unknown }
    }
    for (const [name, call] of [
      ['conv2d', () => ops.conv2d()],
      ['image.cropAndResize', () => ops.image.cropAndResize()],
    ] as const) {
      const error = (() => {
        try {
          call()
        } catch (e) {
          return e as { code: string; subject: string; message: string }
        }
      })()
      expect(error?.code).toBe('MISSING_KERNEL')
      expect(error?.subject).toBe(name)
      expect(error?.message).toContain("kernels: 'all'")
    }
    ops.provideOps({ conv2d: (x: number) => 2 * x })
    expect(ops.conv2d(21)).toBe(42)
  })

  it('the table knows every op the runtime calls, so any model gets the runtime its API', () => {
    for (const name of TFJS_CORE_API.filter((n) => n.includes('.'))) {
      expect(parts.load('\0tfmodel-tfjs.tfjs.js?ops='), name).toContain(`${name.split('.')[1]}: ${name.replace('.', '_')}`)
    }
  })
})

type Built = (appDir: string, entry: string, outDir: string, options: Options) => Promise<void>

/** Browser builds with TF.js bundled (rollup is left out: it needs a resolve plugin for node_modules). */
const builds: Record<'vite' | 'rolldown' | 'esbuild' | 'webpack', Built> = {
  async vite(appDir, _entry, outDir, options) {
    const { build } = await import('vite')
    const { default: tfmodel } = await import('../src/vite.js')
    await build({ root: appDir, base: './', configFile: false, logLevel: 'silent', plugins: [tfmodel(options)], build: { outDir, emptyOutDir: true, minify: false } })
  },
  async rolldown(_appDir, entry, outDir, options) {
    const { rolldown } = await import('rolldown')
    const { default: tfmodel } = await import('../src/rolldown.js')
    const bundle = await rolldown({ input: entry, platform: 'browser', plugins: [tfmodel(options)], logLevel: 'silent' })
    await bundle.write({ dir: outDir, format: 'es', entryFileNames: 'main.js' })
    await bundle.close()
  },
  async esbuild(appDir, entry, outDir, options) {
    const { build } = await import('esbuild')
    const { default: tfmodel } = await import('../src/esbuild.js')
    const entryPoints = { main: entry }
    await build({ entryPoints, bundle: true, splitting: true, outdir: outDir, format: 'esm', absWorkingDir: appDir, logLevel: 'silent', plugins: [tfmodel(options)] })
  },
  async webpack(appDir, entry, outDir, options) {
    const { default: webpack } = await import('webpack')
    const { default: tfmodel } = await import('../src/webpack.js')
    const compiler = webpack({
      mode: 'production',
      context: appDir,
      entry,
      experiments: { outputModule: true },
      output: { path: outDir, filename: 'main.js', module: true, publicPath: 'auto' },
      optimization: { minimize: false },
      plugins: [tfmodel(options)],
    })
    await runWebpack(compiler)
  },
}

/** The fixture's outputs as detections (score ≥ 0.5). */
function detections(outputs: Record<string, ArrayLike<number>>): Detection[] {
  const { detection_boxes: boxes, detection_scores: scores, detection_classes: classes, num_detections: count } = outputs
  return [...Array(count![0]!).keys()]
    .filter((i) => scores![i]! >= 0.5)
    .map((i) => ({ classId: classes![i]!, score: scores![i]!, box: Array.from(boxes!).slice(4 * i, 4 * i + 4) as Detection['box'] }))
}

describe.skipIf(!haveChromium)('two models in one app, built with only their kernels', () => {
  const appDir = join(root, 'test', 'apps', 'pruned')
  const convnetIo = readJson<IoFile>(fixture('convnet').path('io.json'))
  const detectorIo = readJson<IoFile>(fixture('detector').path('io.json'))
  let browser: Browser
  let wanted: string[]

  beforeAll(async () => {
    browser = await launch()
    // What the plugin registers for the two models (the same on every backend but for each one's own extras).
    const convnetJson = await convertTo({ source: fixture('convnet').path('model.ckpt') })
    const detectorJson = await convertTo({ source: fixture('detector').path('model.ckpt'), quantize: 'uint8' })
    wanted = [...new Set([...registered(convnetJson, BACKENDS), ...registered(detectorJson, BACKENDS)])]
  })

  afterAll(async () => {
    await browser?.close()
  })

  it.each(Object.keys(builds) as (keyof typeof builds)[])('%s: TensorFlow’s outputs on webgl, wasm and cpu, with no kernel beyond theirs', async (bundler) => {
    const outDir = outDirFor(`kernels-${bundler}`)
    await builds[bundler](appDir, join(appDir, 'src', 'main.js'), outDir, { cacheDir, dts: false })
    if (!readdirSync(outDir).includes('index.html')) {
      writeFileSync(join(outDir, 'index.html'), readFileSync(join(appDir, 'index.html'), 'utf8').replace('./src/main.js', './main.js'))
    }
    const server = await serveStatic(outDir)
    const page = await browser.newPage()
    try {
      const errors: string[] = []
      page.on('pageerror', (error) => errors.push(error.message))
      await page.goto(server.url)
      await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 30_000 }).catch(() => {
        throw new Error(`the page did not start: ${errors.join('; ')}`)
      })
      for (const backend of BACKENDS) {
        const { results, kernels } = await page.evaluate(
          (b) => (globalThis as unknown as { runAll(b: string): Promise<{ results: Record<string, Record<string, number[]>>; kernels: string[] }> }).runAll(b),
          backend,
        )
        const label = `${bundler}, ${backend}`
        for (const [name, expected] of Object.entries(convnetIo.outputs)) {
          expect(maxRelativeError(results.convnet![name]!, floats(expected)), `${label}: convnet ${name}`).toBeLessThan(1e-3)
        }
        const theirs = Object.fromEntries(Object.entries(detectorIo.outputs).map(([k, v]) => [k, floats(v)]))
        expectSameDetections(detections(results.detector!), detections(theirs), `${label}: detector`)
        expect(kernels.filter((k) => !wanted.includes(k)), `${label}: kernels registered beyond the models'`).toEqual([])
      }
    } finally {
      await page.close()
      await server.close()
    }
  }, 180_000)
})

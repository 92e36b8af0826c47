// The bundler plugin end to end: each bundler builds a small app importing a
// real fixture model; the emitted assets, loaded by the app's own code from
// the built output, run in TensorFlow.js and give TensorFlow's outputs.
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'

import type { TfModel } from '../src/runtime/index.js'
import { BUNDLERS, buildApp, outDirFor } from './bundlers.js'
import { fixture, type JsonTensor, readJson, root } from './fixtures.js'
import { floats } from './tfjs-loader.js'

const appDir = join(root, 'test', 'apps', 'basic')
const entry = join(appDir, 'src', 'main.js')

/** `fetch` for file: URLs, which Node's own fetch does not take. */
async function fileFetch(url: string | URL | Request): Promise<Response> {
  return new Response(await readFile(fileURLToPath(url.toString())))
}

interface BuiltApp {
  model: TfModel
  quantized: TfModel
  again: TfModel
  modelUrl: string
}

describe.each(BUNDLERS)('%s', (bundler) => {
  it('emits hashed model assets that load from the built output and give TensorFlow\'s outputs', async () => {
    const outDir = outDirFor(bundler)
    const logs: string[] = []
    await buildApp(bundler, appDir, entry, outDir, {
      cacheDir: mkdtempSync(join(tmpdir(), 'tfmodel-cache-')),
      dts: false,
      debug: (message) => logs.push(message),
    })

    // Two importers of model.ckpt?quantize, one plain import and one ?url: two conversions.
    expect(logs.filter((l) => l.startsWith('converted')).length, logs.join('\n')).toBe(2)

    const files = readdirSync(join(outDir, 'assets'))
    // The WASM backend is installed here: its binaries ship with the app, hashed too.
    expect(files.filter((f) => f.endsWith('.wasm')).sort()).toEqual([
      expect.stringMatching(/^tfjs-backend-wasm-[0-9a-f]{10}\.wasm$/),
      expect.stringMatching(/^tfjs-backend-wasm-simd-[0-9a-f]{10}\.wasm$/),
    ])
    const assets = files.filter((f) => !f.endsWith('.wasm'))
    const jsons = assets.filter((f) => f.endsWith('.json'))
    expect(jsons).toHaveLength(2)
    // The entry is named per import; the core names the shards by their content.
    for (const name of jsons) expect(name).toMatch(/^model-[0-9a-f]{8}-[0-9a-f]{10}\.json$/)
    for (const name of assets.filter((f) => !f.endsWith('.json'))) expect(name).toMatch(/^model-[0-9a-f]{10}\.bin$/)
    for (const json of jsons) {
      const manifest = JSON.parse(readFileSync(join(outDir, 'assets', json), 'utf8')) as { weightsManifest: { paths: string[] }[] }
      for (const path of manifest.weightsManifest[0]!.paths) expect(assets).toContain(path)
    }

    const app = (await import(pathToFileURL(join(outDir, 'main.js')).href)) as BuiltApp
    expect(app.again).toBe(app.quantized)
    expect(app.modelUrl).toBe(app.model.url)
    expect(app.model.url).toMatch(/\/assets\/model-[0-9a-f]{8}-[0-9a-f]{10}\.json$/)
    expect(app.quantized.sizes.weights).toBeLessThan(app.model.sizes.weights)

    const spec = fixture('convnet')
    const io = readJson<{ inputs: { input: JsonTensor }; outputs: Record<string, JsonTensor> }>(spec.path(spec.io!))
    const input = { data: floats(io.inputs.input), shape: io.inputs.input.shape }
    const want = floats(io.outputs.probs!)

    const float = await app.model.load({ fetch: fileFetch, backend: 'cpu' })
    const exact = await float.run({ input })
    expect(exact.probs!.shape).toEqual(io.outputs.probs!.shape)
    exact.probs!.data.forEach((v, i) => expect(Math.abs((v as number) - want[i]!)).toBeLessThan(1e-5))
    float.dispose()

    const eight = await app.quantized.load({ fetch: fileFetch, backend: 'cpu' })
    const approximate = await eight.run({ input })
    const rows = want.length / 4
    for (let r = 0; r < rows; r++) {
      const ours = Array.from(approximate.probs!.data as Float32Array).slice(r * 4, r * 4 + 4)
      const theirs = Array.from(want.subarray(r * 4, r * 4 + 4))
      expect(ours.indexOf(Math.max(...ours))).toBe(theirs.indexOf(Math.max(...theirs)))
      ours.forEach((v, i) => expect(Math.abs(v - theirs[i]!)).toBeLessThan(0.02))
    }
    eight.dispose()
  })
})

describe('cache', () => {
  it('a second build of the same app converts nothing, and a moved checkout reuses the cache', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'tfmodel-cache-'))
    const run = async () => {
      const logs: string[] = []
      const started = performance.now()
      await buildApp('vite', appDir, entry, outDirFor('cache'), { cacheDir, dts: false, debug: (m) => logs.push(m) })
      return { logs, ms: performance.now() - started }
    }
    const cold = await run()
    const warm = await run()
    console.log(`vite build of the test app: cold ${cold.ms.toFixed(0)} ms, warm ${warm.ms.toFixed(0)} ms`)
    expect(cold.logs.filter((l) => l.startsWith('converted'))).toHaveLength(2)
    expect(warm.logs.filter((l) => l.startsWith('converted'))).toEqual([])
    expect(warm.logs.filter((l) => l.startsWith('cache hit'))).toHaveLength(2)

    // Relocatable: the same model files elsewhere hit the same entries.
    const moved = join(outDirFor('moved'), 'convnet')
    cpSync(fixture('convnet').dir, moved, { recursive: true })
    writeFileSync(join(moved, '..', 'main.js'), "export { default } from './convnet/model.ckpt?quantize'\n")
    const logs: string[] = []
    await buildApp('rollup', join(moved, '..'), join(moved, '..', 'main.js'), outDirFor('moved-out'), { cacheDir, dts: false, debug: (m) => logs.push(m) })
    expect(logs.filter((l) => l.startsWith('converted'))).toEqual([])
  })
})

describe('errors name the importing module and the model file', () => {
  it('a bad directive suggests the closest one', async () => {
    const dir = outDirFor('bad-directive')
    writeFileSync(join(dir, 'main.js'), `import m from ${JSON.stringify(`${fixture('convnet').path('model.ckpt')}?quantise`)}\nexport default m\n`)
    const error = await buildApp('rollup', dir, join(dir, 'main.js'), join(dir, 'out'), { dts: false, cacheDir: false }).catch((e: Error) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toContain(join(dir, 'main.js'))
    expect((error as Error).message).toContain('unknown directive "quantise"')
    expect((error as Error).message).toContain('"quantize"')
  })

  it('a conversion failure carries the core code and names both files', async () => {
    const dir = outDirFor('bad-output')
    writeFileSync(join(dir, 'main.js'), `import m from ${JSON.stringify(`${fixture('convnet').path('model.ckpt')}?outputs=prob`)}\nexport default m\n`)
    const error = (await buildApp('vite', dir, join(dir, 'main.js'), join(dir, 'out'), { dts: false, cacheDir: false }).catch((e: Error) => e)) as Error
    expect(error.message).toContain(join(dir, 'main.js'))
    expect(error.message).toContain('model.ckpt')
    expect(error.message).toContain('no node named "prob"')
    // Bundlers wrap plugin errors each their own way; the message keeps the code.
    expect(error.message).toContain('UNKNOWN_NODE')
    expect(error.message).toContain('"probs"')
  })

  it('inferred outputs that cannot be converted name the failing one and the import that works', async () => {
    const dir = outDirFor('partial-save')
    cpSync(join(root, 'fixtures', 'training', 'partial_save', 'train'), join(dir, 'train'), { recursive: true })
    writeFileSync(join(dir, 'main.js'), "import m from './train'\nexport default m\n")
    const error = (await buildApp('vite', dir, join(dir, 'main.js'), join(dir, 'out'), { dts: false, cacheDir: false }).catch((e: Error) => e)) as Error
    expect(error.message).toContain('VARIABLE_MISSING')
    expect(error.message).toContain('needed by the inferred output "aux_scores"')
    expect(error.message).toContain('import "./train?outputs=probs" instead')

    writeFileSync(join(dir, 'main.js'), "import m from './train?outputs=probs'\nexport default m\n")
    await buildApp('vite', dir, join(dir, 'main.js'), join(dir, 'out'), { dts: false, cacheDir: false })
  })

  it('a misspelled checkpoint names the models beside it, whatever the bundler', async () => {
    const dir = outDirFor('misspelled')
    cpSync(fixture('convnet').dir, join(dir, 'models'), { recursive: true })
    for (const [bundler, specifier, hint] of [
      ['vite', './models/model.ckp?quantize', '"model.ckpt"'],
      ['webpack', './models/modle.ckpt', '"model.ckpt"'],
      ['esbuild', './models/x.pb', 'this folder holds frozen_tf.pb, model.ckpt'],
    ] as const) {
      writeFileSync(join(dir, 'main.js'), `import m from '${specifier}'\nexport default m\n`)
      const error = (await buildApp(bundler, dir, join(dir, 'main.js'), join(dir, 'out'), { dts: false, cacheDir: false }).catch((e: Error) => e)) as Error
      expect(error, bundler).toBeInstanceOf(Error)
      expect(error.message, bundler).toContain('FILE_NOT_FOUND')
      expect(error.message, bundler).toContain(`cannot import "${specifier}"`)
      expect(error.message, bundler).toContain(hint)
    }
  })

  it('an unknown option is rejected with a suggestion', async () => {
    const { default: tfmodel } = await import('../src/vite.js')
    expect(() => tfmodel({ quantise: true } as never)).toThrow(/unknown option "quantise".*"quantize"/)
  })
})

describe('other sources', () => {
  it('a checkpoint saved without a .meta, paired with its .pbtxt graph by option, and a frozen .pb', async () => {
    const pair = fixture('graph_pair')
    const convnet = fixture('convnet')
    const dir = outDirFor('sources')
    writeFileSync(
      join(dir, 'main.js'),
      [
        `import paired from ${JSON.stringify(pair.path('model.ckpt'))}`,
        `import frozen from ${JSON.stringify(`${convnet.path('frozen_tf.pb')}?outputs=probs`)}`,
        'export { frozen, paired }',
      ].join('\n'),
    )
    await buildApp('rollup', dir, join(dir, 'main.js'), join(dir, 'out'), {
      root,
      dts: false,
      cacheDir: false,
      models: [{ include: 'fixtures/graph_pair/model.ckpt', graph: 'fixtures/graph_pair/graph.pbtxt', outputs: pair.output_node_names }],
    })
    const app = (await import(pathToFileURL(join(dir, 'out', 'main.js')).href)) as { paired: TfModel; frozen: TfModel }

    const pairIo = readJson<{ inputs: Record<string, JsonTensor>; outputs: Record<string, JsonTensor> }>(pair.path(pair.io!))
    const paired = await app.paired.load({ fetch: fileFetch, backend: 'cpu' })
    const x = pairIo.inputs['inputs/x']!
    const out = await paired.run({ 'inputs/x': { data: floats(x), shape: x.shape } })
    for (const name of pair.output_node_names) {
      const want = floats(pairIo.outputs[name]!)
      ;(out[name]!.data as Float32Array).forEach((v, i) => expect(Math.abs(v - want[i]!), name).toBeLessThan(1e-5))
    }
    paired.dispose()

    expect(app.frozen.signature.outputs.map((s) => s.name)).toEqual(['probs'])
    const io = readJson<{ inputs: { input: JsonTensor }; outputs: Record<string, JsonTensor> }>(convnet.path(convnet.io!))
    const frozen = await app.frozen.load({ fetch: fileFetch, backend: 'cpu' })
    const probs = (await frozen.run({ input: { data: floats(io.inputs.input), shape: io.inputs.input.shape } })).probs!
    const want = floats(io.outputs.probs!)
    ;(probs.data as Float32Array).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5))
    frozen.dispose()
  })
})

describe('rollup --watch', () => {
  it('rebuilds with the new weights when a training directory gets a new checkpoint', async () => {
    const { watch } = await import('rollup')
    const { default: tfmodel } = await import('../src/rollup.js')
    const train = fixture('train_dir')
    const dir = outDirFor('watch')
    const modelDir = join(dir, 'train')
    mkdirSync(modelDir)
    const copyStep = (step: number) => {
      for (const suffix of ['.data-00000-of-00001', '.index', '.meta']) {
        copyFileSync(train.path(`model.ckpt-${step}${suffix}`), join(modelDir, `model.ckpt-${step}${suffix}`))
      }
      writeFileSync(join(modelDir, 'checkpoint'), `model_checkpoint_path: "model.ckpt-${step}"\n`)
    }
    copyStep(100)
    writeFileSync(join(dir, 'main.js'), "export { default } from './train'\n")
    const out = join(dir, 'out')
    const watcher = watch({
      input: join(dir, 'main.js'),
      external: [/^@tensorflow\//],
      plugins: [tfmodel({ dts: false, cacheDir: false })],
      output: { dir: out, format: 'es' },
      watch: { buildDelay: 50 },
    })
    const builds: string[] = []
    watcher.on('event', (event) => {
      if (event.code === 'BUNDLE_END') {
        void event.result.close()
        builds.push(readdirSync(join(out, 'assets')).filter((f) => f.endsWith('.bin')).join(','))
      }
      if (event.code === 'ERROR') builds.push(`error: ${event.error.message}`)
    })
    const until = async (count: number) => {
      for (let waited = 0; builds.length < count; waited += 50) {
        if (waited > 20_000) throw new Error(`only ${builds.length} builds: ${builds.join(' | ')}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    try {
      await until(1)
      copyStep(200)
      await until(2)
      expect(builds[1]).not.toMatch(/^error/)
      const weights = (step: number) =>
        Buffer.concat(['W', 'b'].map((n) => Buffer.from(readJson<{ tensors: Record<string, JsonTensor> }>(train.path(train.steps![String(step)]!)).tensors[n]!.data as string, 'base64')))
      const newest = readdirSync(join(out, 'assets')).filter((f) => f.endsWith('.bin')).map((f) => readFileSync(join(out, 'assets', f)))
      expect(newest.some((bytes) => bytes.includes(weights(200)))).toBe(true)
    } finally {
      await watcher.close()
    }
  })
})

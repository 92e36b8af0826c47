// `vite dev` with the training directory of a real training script (loss,
// Adam, a dropout keep_prob placeholder, Saver in the loop): a new checkpoint
// (written the way TensorFlow writes one: data first, state file last) is
// converted and pushed over HMR; a broken one shows an error while the last
// good model stays served.
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { haveChromium, launch } from './chromium.js'
import { type DevApp, type HmrMessage, isUpdate, startDevApp } from './dev-app.js'
import { fixturesDir, type JsonTensor, readJson } from './fixtures.js'
import { fileFetch, tfliteModel } from './litert-node.js'
import { outDirFor } from './bundlers.js'
import { floats, maxRelativeError, run } from './tfjs-loader.js'

/** Checkpoints at steps 30 and 60; TensorFlow's outputs (io.json) are step 60's. */
const trainDir = join(fixturesDir, 'training', 'dropout_keep_prob', 'train')
const io = readJson<{ inputs: Record<string, JsonTensor>; outputs: Record<string, JsonTensor> }>(
  join(fixturesDir, 'training', 'dropout_keep_prob', 'io.json'),
)

/** Copies checkpoint `from` of the fixture as step `step` (default: the same). */
function copyStep(to: string, from: number, truncate = false, step = from): void {
  for (const suffix of ['.data-00000-of-00001', '.index', '.meta']) {
    const name = `model.ckpt-${step}${suffix}`
    copyFileSync(join(trainDir, `model.ckpt-${from}${suffix}`), join(to, name))
    if (truncate && suffix.startsWith('.data')) truncateSync(join(to, name), 6)
  }
}

function writeState(dir: string, step: number): void {
  writeFileSync(join(dir, 'checkpoint'), `model_checkpoint_path: "model.ckpt-${step}"\nall_model_checkpoint_paths: "model.ckpt-${step}"\n`)
}

describe('vite dev', () => {
  let app: DevApp
  let appDir: string
  let modelDir: string

  beforeAll(async () => {
    appDir = outDirFor('dev')
    modelDir = join(appDir, 'train')
    mkdirSync(modelDir)
    copyStep(modelDir, 30)
    writeState(modelDir, 30)
    app = await startDevApp(
      appDir,
      "import model from './train'\nwindow.model = model\nwindow.updates = []\nmodel.onUpdate((m) => window.updates.push(m.hash))\nexport default model\n",
    )
  })

  afterAll(async () => {
    await app?.close()
  })

  /** The model served at `url`, downloaded and run by TF.js on the fixture's inputs. */
  async function servedProbs(url: string): Promise<{ probs: Float32Array; inputs: string[]; outputs: string[] }> {
    const { model, json } = await app.loadServed(url)
    const { probs } = await run(model, io.inputs, ['probs'])
    model.dispose()
    return { probs: probs as Float32Array, inputs: Object.keys(json.signature.inputs), outputs: Object.keys(json.signature.outputs) }
  }

  const nextMessage = (match: (m: HmrMessage) => boolean, timeoutMs?: number) => app.nextMessage(match, timeoutMs)

  it('pre-bundles the installed TF.js packages, so the first visit does not reload', () => {
    expect(app.server.config.optimizeDeps.include).toEqual(
      expect.arrayContaining(['@tensorflow/tfjs-core', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm']),
    )
  })

  it('serves the newest checkpoint, pushes a new one over HMR, and keeps the last good one when one breaks', async () => {
    const want = floats(io.outputs.probs!)
    const first = await servedProbs(await app.modelUrl())
    // The prediction head and the real input: no loss, labels or keep_prob.
    expect([first.inputs, first.outputs]).toEqual([['x'], ['probs']])
    expect(maxRelativeError(first.probs, want), 'step 30 is not step 60').toBeGreaterThan(1e-3)

    // TensorFlow writes the data first and the state file last: the data alone
    // changes nothing served, so no update goes out for it.
    copyStep(modelDir, 60)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(app.messages.filter(isUpdate), 'files that change nothing served push no update').toEqual([])
    const written = Date.now()
    writeState(modelDir, 60)
    const update = await nextMessage(isUpdate)
    console.log(`checkpoint written -> HMR update: ${Date.now() - written} ms`)
    const second = update.data!.descriptor.url
    expect(maxRelativeError((await servedProbs(second)).probs, want), "step 60 gives TensorFlow's outputs").toBeLessThan(1e-4)

    copyStep(modelDir, 60, true, 90)
    writeState(modelDir, 90)
    const error = await nextMessage((m) => m.type === 'error')
    expect(error.err!.message).toContain('SHARD_TRUNCATED')
    expect(error.err!.message).toContain('model.ckpt-90')
    expect(maxRelativeError((await servedProbs(second)).probs, want), 'the last good model is still served').toBeLessThan(1e-4)
  }, 60_000)

  it.skipIf(!haveChromium)('in the page: the overlay shows a broken checkpoint and clears when a good one lands; onUpdate fires only on new weights', async () => {
    const browser = await launch()
    try {
      const page = await browser.newPage()
      await page.goto(app.base)
      await page.waitForFunction(() => Array.isArray((window as { updates?: unknown }).updates))
      const overlays = () => page.locator('vite-error-overlay').count()
      const updates = () => page.evaluate(() => (window as unknown as { updates: string[] }).updates)
      // A page loaded after live updates starts from the newest good model, not
      // from the loader Vite transformed when the server started.
      const lastGood = app.messages.filter(isUpdate).at(-1)!.data!.descriptor.url
      expect(await page.evaluate(() => (window as unknown as { model: { url: string } }).model.url)).toBe(lastGood)

      copyStep(modelDir, 60, true, 100)
      writeState(modelDir, 100)
      await page.waitForSelector('vite-error-overlay', { state: 'attached', timeout: 15_000 })

      // Step 120 holds step 60's weights again: the overlay goes, but the model did not change.
      const before = app.messages.filter(isUpdate).length
      copyStep(modelDir, 60, false, 120)
      writeState(modelDir, 120)
      await nextMessage(() => app.messages.filter(isUpdate).length > before)
      await page.waitForFunction(() => document.querySelectorAll('vite-error-overlay').length === 0, null, { timeout: 15_000 })
      expect(await updates(), 'the same weights are no update').toEqual([])

      copyStep(modelDir, 30, false, 150)
      writeState(modelDir, 150)
      await page.waitForFunction(() => (window as unknown as { updates: string[] }).updates.length > 0, null, { timeout: 15_000 })
      expect(await updates()).toHaveLength(1)
      expect(await overlays()).toBe(0)
    } finally {
      await browser.close()
    }
  }, 90_000)

  it('survives its training directory deleted and recreated, a shard half-written in place, and a state file naming a deleted checkpoint', async () => {
    const since = () => app.messages.length
    const next = (from: number, match: (m: HmrMessage) => boolean) => nextMessage((m) => app.messages.indexOf(m) >= from && match(m), 20_000)
    const urlOf = (m: HmrMessage) => m.data!.descriptor.url
    const want = floats(io.outputs.probs!)

    // Deleted: the last good model stays served; recreated: it is picked up again.
    let from = since()
    rmSync(modelDir, { recursive: true, force: true })
    await next(from, (m) => m.type === 'error')
    mkdirSync(modelDir)
    copyStep(modelDir, 60, false, 200)
    writeState(modelDir, 200)
    const recreated = await next(from, isUpdate)
    expect(maxRelativeError((await servedProbs(urlOf(recreated))).probs, want)).toBeLessThan(1e-4)

    // The data shard of the served step rewritten half-way: an error, then the whole file again.
    from = since()
    truncateSync(join(modelDir, 'model.ckpt-200.data-00000-of-00001'), 10)
    await next(from, (m) => m.type === 'error')
    expect(maxRelativeError((await servedProbs(urlOf(recreated))).probs, want), 'the last good model is still served').toBeLessThan(1e-4)
    copyStep(modelDir, 60, false, 200)
    expect(urlOf(await next(from, isUpdate)), 'the same weights, served under the same URL').toBe(urlOf(recreated))

    // The state file names a checkpoint whose files are being deleted.
    from = since()
    copyStep(modelDir, 30, false, 210)
    for (const suffix of ['.data-00000-of-00001', '.index']) rmSync(join(modelDir, `model.ckpt-210${suffix}`))
    writeState(modelDir, 210)
    await next(from, (m) => m.type === 'error')
    expect(maxRelativeError((await servedProbs(urlOf(recreated))).probs, want), 'the last good model is still served').toBeLessThan(1e-4)
  }, 90_000)
})

describe('vite dev, started in the middle of a save', () => {
  it("waits for the checkpoint's .meta (a Saver writes it after the state file) and serves that checkpoint", async () => {
    const appDir = outDirFor('dev-mid-save')
    const modelDir = join(appDir, 'train')
    mkdirSync(modelDir)
    copyStep(modelDir, 60)
    rmSync(join(modelDir, 'model.ckpt-60.meta'))
    writeState(modelDir, 60)
    const app = await startDevApp(appDir, "import model from './train'\nexport default model\n")
    try {
      const written = new Promise((resolve) => setTimeout(resolve, 700)).then(() => copyFileSync(join(trainDir, 'model.ckpt-60.meta'), join(modelDir, 'model.ckpt-60.meta')))
      const url = await app.modelUrl()
      await written
      expect(app.messages.filter((m) => m.type === 'error'), 'no error overlay').toEqual([])
      const { model } = await app.loadServed(url)
      const { probs } = await run(model, io.inputs, ['probs'])
      model.dispose()
      expect(maxRelativeError(probs!, floats(io.outputs.probs!)), "step 60 gives TensorFlow's outputs").toBeLessThan(1e-4)
    } finally {
      await app.close()
    }
  }, 60_000)
})

// TF2: a SavedModel exported once, and a training loop whose
// tf.train.CheckpointManager keeps writing `ckpt-N` plus its state file
// (fixtures/saved_model/checkpointed). The import names the training
// directory, with the SavedModel as its graph; or the SavedModel, with the
// training directory as its checkpoint.
const tf2Imports = [
  { named: 'the training directory', slug: 'dev-tf2', source: "import model from './train'\nexport default model\n", models: [{ include: 'train', graph: 'export' }] },
  { named: 'the SavedModel', slug: 'dev-tf2-saved-model', source: "import model from './export'\nexport default model\n", models: [{ include: 'export', checkpoint: 'train' }] },
]
describe.each(tf2Imports)('vite dev, a TF2 training loop (CheckpointManager beside a SavedModel), the import naming $named', ({ slug, source, models }) => {
  const fixture = join(fixturesDir, 'saved_model', 'checkpointed')
  const stepIo = (step: number) =>
    readJson<{ inputs: Record<string, JsonTensor>; outputs: Record<string, JsonTensor> }>(join(fixture, `io_ckpt-${step}.json`))
  let app: DevApp
  let modelDir: string

  /** Copies `ckpt-<step>` as CheckpointManager writes it: the data, the index, then the state file. */
  function saveStep(step: number): void {
    for (const suffix of ['.data-00000-of-00001', '.index']) {
      copyFileSync(join(fixture, 'train', `ckpt-${step}${suffix}`), join(modelDir, `ckpt-${step}${suffix}`))
    }
    writeFileSync(join(modelDir, 'checkpoint'), `model_checkpoint_path: "ckpt-${step}"\nall_model_checkpoint_paths: "ckpt-${step}"\n`)
  }

  beforeAll(async () => {
    const appDir = outDirFor(slug)
    cpSync(join(fixture, 'saved_model'), join(appDir, 'export'), { recursive: true })
    modelDir = join(appDir, 'train')
    mkdirSync(modelDir)
    saveStep(1)
    app = await startDevApp(appDir, source, { models })
  })

  afterAll(async () => {
    await app?.close()
  })

  /** The served model at `url`, run by TF.js on step `step`'s inputs: its max relative error against TensorFlow's y. */
  async function errorAgainst(url: string, step: number): Promise<number> {
    const io = stepIo(step)
    const { model } = await app.loadServed(url)
    const { y } = await run(model, io.inputs, ['y'])
    model.dispose()
    return maxRelativeError(y!, floats(io.outputs.y!))
  }

  it("serves the newest CheckpointManager step with TensorFlow's outputs, and pushes the next one over HMR", async () => {
    const first = await app.modelUrl()
    expect(await errorAgainst(first, 1), "step 1 gives TensorFlow's outputs").toBeLessThan(1e-4)
    expect(await errorAgainst(first, 3), 'step 1 is not step 3').toBeGreaterThan(1e-3)

    saveStep(2)
    saveStep(3)
    // An update may go out for step 2 before step 3's: wait for the newest.
    const deadline = Date.now() + 20_000
    let checked: string | undefined
    let error = Number.POSITIVE_INFINITY
    while (error >= 1e-4 && Date.now() < deadline) {
      const failed = app.messages.find((m) => m.type === 'error')
      if (failed) throw new Error(failed.err!.message)
      const url = app.messages.filter(isUpdate).at(-1)?.data?.descriptor.url
      if (url && url !== checked) error = await errorAgainst((checked = url), 3)
      else await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(checked, JSON.stringify(app.messages)).toBeDefined()
    expect(error, "the newest step gives TensorFlow's outputs").toBeLessThan(1e-4)
  }, 60_000)
})

describe('vite dev, format=tflite', () => {
  let app: DevApp
  let modelDir: string
  const want = floats(io.outputs.probs!)
  const signature = {
    inputs: [{ name: 'x', dtype: 'float32' as const, shape: [-1, 8] }],
    outputs: [{ name: 'probs', dtype: 'float32' as const, shape: [-1, 3] }],
  }

  beforeAll(async () => {
    const appDir = outDirFor('dev-tflite')
    modelDir = join(appDir, 'train')
    mkdirSync(modelDir)
    copyStep(modelDir, 30)
    writeState(modelDir, 30)
    app = await startDevApp(appDir, "import model from './train?format=tflite'\nwindow.model = model\nexport default model\n")
  })

  afterAll(async () => {
    await app?.close()
  })

  /** The .tflite served at `url`, run by LiteRT.js in Node on the fixture's inputs. */
  async function servedProbs(url: string): Promise<Float32Array> {
    const response = await fetch(new URL(url, app.base))
    expect(response.status).toBe(200)
    const path = join(mkdtempSync(join(tmpdir(), 'tfmodel-served-')), 'model.tflite')
    writeFileSync(path, Buffer.from(await response.arrayBuffer()))
    const model = await tfliteModel(path, signature).load({ fetch: fileFetch })
    try {
      const x = io.inputs.x!
      const out = await model.run({ x: { data: floats(x), shape: x.shape } })
      return out.probs!.data as Float32Array
    } finally {
      model.dispose()
    }
  }

  it("serves the newest checkpoint as a .tflite beside LiteRT.js's WASM (application/wasm), and pushes the next one over HMR", async () => {
    const first = await app.modelUrl()
    expect(first).toMatch(/\.tflite$/)
    expect(maxRelativeError(await servedProbs(first), want), 'step 30 is not step 60').toBeGreaterThan(1e-3)

    // The loader names both LiteRT.js builds; the dev server serves each as WASM.
    const main = await app.text('/main.js')
    const loader = await app.text(/from "([^"]+tfmodel[^"]*)"/.exec(main)![1]!)
    const wasm = [...loader.matchAll(/"([^"]*litert_wasm[^"]*\.wasm)"/g)].map((m) => m[1]!)
    expect(wasm).toHaveLength(2)
    for (const path of wasm) {
      const response = await fetch(new URL(path, app.base))
      expect(response.status, path).toBe(200)
      expect(response.headers.get('content-type'), path).toBe('application/wasm')
      expect(Buffer.from(await response.arrayBuffer()).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]))
    }

    copyStep(modelDir, 60)
    writeState(modelDir, 60)
    const update = await app.nextMessage(isUpdate)
    const second = update.data!.descriptor.url
    expect(second).not.toBe(first)
    expect(maxRelativeError(await servedProbs(second), want), "step 60 gives TensorFlow's outputs").toBeLessThan(1e-4)
  }, 60_000)
})

describe('vite dev, quantize=int8-full', () => {
  let app: DevApp
  let calibration: string

  /** numpy's .npy, format 1.0, of float32 `values` as [rows, 8]. */
  function writeSamples(values: number[]): void {
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${values.length / 8}, 8), }`
    header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n'
    const lead = Buffer.alloc(10)
    lead.write('\x93NUMPY', 0, 'latin1')
    lead.writeUInt8(1, 6)
    lead.writeUInt16LE(header.length, 8)
    writeFileSync(calibration, Buffer.concat([lead, Buffer.from(header, 'latin1'), Buffer.from(new Float32Array(values).buffer)]))
  }

  beforeAll(async () => {
    const appDir = outDirFor('dev-int8-full')
    const modelDir = join(appDir, 'train')
    mkdirSync(modelDir)
    copyStep(modelDir, 60)
    writeState(modelDir, 60)
    calibration = join(appDir, 'samples.npy')
    writeSamples(Array.from(floats(io.inputs.x!)))
    app = await startDevApp(appDir, "import model from './train?format=tflite&quantize=int8-full&calibration=samples.npy'\nwindow.model = model\nexport default model\n")
  })

  afterAll(async () => {
    await app?.close()
  })

  it('converts again when the calibration data changes, and pushes the model calibrated on it', async () => {
    const first = await app.modelUrl()
    expect(first).toMatch(/\.tflite$/)
    // Wider samples: wider ranges, other scales, another file.
    writeSamples(Array.from(floats(io.inputs.x!), (v) => v * 4))
    const update = await app.nextMessage(isUpdate)
    const second = update.data!.descriptor.url
    expect(second).toMatch(/\.tflite$/)
    expect(second).not.toBe(first)
  }, 60_000)
})

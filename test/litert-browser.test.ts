// A Vite build of a small app importing `?format=tflite` models, run in
// Chromium on LiteRT.js, against TensorFlow's outputs.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { outDirFor } from './bundlers.js'
import { haveChromium, launch } from './chromium.js'
import { fixture, type JsonTensor, readJson } from './fixtures.js'
import { closeness, tensorflowHeads } from './litert-node.js'
import { serveStatic, type StaticServer } from './static-server.js'
import { floats } from './tfjs-loader.js'

const HEADS = ['box_encodings', 'class_predictions']

async function buildApp(): Promise<string> {
  // Inside the repository, so the app resolves @litertjs/core as an installed one would.
  const app = outDirFor('litert-app')
  mkdirSync(app, { recursive: true })
  writeFileSync(join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n')
  writeFileSync(
    join(app, 'main.js'),
    [
      `import convnet from ${JSON.stringify(`${fixture('convnet').path('model.ckpt')}?format=tflite`)}`,
      `import detector from ${JSON.stringify(`${fixture('detector').path('model.ckpt')}?format=tflite&outputs=${HEADS.join(',')}`)}`,
      'window.models = { convnet, detector }',
      '',
    ].join('\n'),
  )
  const { build } = await import('vite')
  const { default: tfmodel } = await import('../src/vite.js')
  const outDir = join(app, 'dist')
  await build({ root: app, base: './', logLevel: 'silent', plugins: [tfmodel({ dts: false })], build: { outDir, emptyOutDir: true, target: 'es2022' } })
  return outDir
}

describe.skipIf(!haveChromium)('a ?format=tflite import in Chromium', () => {
  let server: StaticServer
  let browser: Browser
  let outDir: string

  beforeAll(async () => {
    outDir = await buildApp()
    server = await serveStatic(outDir)
    browser = await launch()
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it('emits the .tflite and only the compat and relaxed-SIMD builds of LiteRT.js, content-hashed', () => {
    const files = readdirSync(join(outDir, 'assets'))
    expect(files.filter((f) => f.endsWith('.tflite'))).toHaveLength(2)
    expect(files.filter((f) => f.endsWith('.wasm')).sort()).toEqual([
      expect.stringMatching(/^litert_wasm_compat_internal-[0-9a-f]{10}\.wasm$/),
      expect.stringMatching(/^litert_wasm_internal-[0-9a-f]{10}\.wasm$/),
    ])
    expect(files.some((f) => f.includes('tfjs-backend'))).toBe(false)
  })

  it('runs the convnet and the detector heads to TensorFlow\'s outputs, from its own origin only', async () => {
    const spec = fixture('convnet')
    const io = readJson<{ inputs: Record<string, JsonTensor>; outputs: Record<string, JsonTensor> }>(spec.path(spec.io!))
    const images = readJson<{ input: JsonTensor }[]>(fixture('detector').path('images.json'))
    const page = await browser.newPage()
    const requested: string[] = []
    page.on('request', (request) => requested.push(request.url()))
    await page.goto(server.url)
    await page.waitForFunction(() => 'models' in window)
    const result = await page.evaluate(
      async ({ convnetInput, images }) => {
        const { convnet, detector } = (window as unknown as { models: Record<string, { load(o?: object): Promise<any> }> }).models
        const progress: number[] = []
        const classifier = await convnet!.load({ onProgress: (f: number) => progress.push(f) })
        const probs = await classifier.run({ input: convnetInput })
        const heads = await detector!.load()
        const detected = []
        for (const image of images) {
          // An image source: ImageData of the stored uint8 pixels, with an opaque alpha channel.
          const rgba = new Uint8ClampedArray(64 * 64 * 4)
          for (let i = 0; i < 64 * 64; i++) {
            rgba.set(image.slice(3 * i, 3 * i + 3), 4 * i)
            rgba[4 * i + 3] = 255
          }
          const out = await heads.run({ image_tensor: new ImageData(rgba, 64, 64) })
          detected.push(Object.fromEntries(Object.entries(out).map(([k, v]: [string, any]) => [k, { shape: v.shape, data: [...v.data] }])))
        }
        classifier.dispose()
        heads.dispose()
        return { backend: classifier.backend, progress, probs: [...probs.probs.data], logits: [...probs.logits.data], detected }
      },
      {
        convnetInput: { data: [...floats(io.inputs.input!)], shape: io.inputs.input!.shape },
        images: images.map((image) => [...Buffer.from(image.input.data as string, 'base64')]),
      },
    )
    expect(result.backend).toBe('wasm')
    expect(result.progress.at(-1)).toBe(1)
    expect(closeness(result.probs, floats(io.outputs.probs!))).toBeLessThanOrEqual(1)
    expect(closeness(result.logits, floats(io.outputs.logits!))).toBeLessThanOrEqual(1)
    const expected = tensorflowHeads(HEADS)
    for (const [i, heads] of result.detected.entries()) {
      for (const head of HEADS) {
        const want = expected[i]![head]!
        expect(heads[head]!.shape, `image ${i} ${head}`).toEqual(want.shape)
        expect(closeness(heads[head]!.data, floats(want)), `image ${i} ${head}`).toBeLessThanOrEqual(1)
      }
    }
    // One LiteRT.js build fetched, once, and nothing from anywhere but the app.
    expect(server.requests.filter((r) => r.endsWith('.wasm'))).toEqual([expect.stringMatching(/litert_wasm_(compat_)?internal-/)])
    const origin = new URL(server.url).origin
    expect(requested.filter((url) => !url.startsWith(`${origin}/`))).toEqual([])
    await page.close()
  }, 120_000)
})

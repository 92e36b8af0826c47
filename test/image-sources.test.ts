// run() on every kind of image source, in Chromium: each test image as an <img>
// (at its natural size, and shown at 256 CSS pixels), a canvas, an
// OffscreenCanvas, ImageData, an ImageBitmap, a <video>, and a PNG twice the
// model's size. Each must give the detections TensorFlow stored for the same
// pixels, boxes and all: reading an image at its displayed size moved boxes by
// 0.006 to 0.009 and lost a detection.
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { outDirFor } from './bundlers.js'
import { type Detection, haveChromium, launch, tensorflowDetections } from './chromium.js'
import { fixture, type JsonTensor, readJson, root } from './fixtures.js'
import { serveStatic, type StaticServer } from './static-server.js'
import { iou } from './tfjs-loader.js'

const appDir = join(root, 'test', 'apps', 'image-sources')

/**
 * Every source kind the page makes. Each one's pixels reach the model as
 * TensorFlow got them; even the video's: in this headless Chromium a canvas
 * stream's frames arrive unchanged (a lossy path would get the IoU check only).
 */
const KINDS = ['image', 'displayed', 'canvas', 'offscreenCanvas', 'imageData', 'imageBitmap', 'video', 'upscaled']
/** How far a box may be from TensorFlow's when the pixels are the same (float32 arithmetic of another kind). */
const BOX_TOLERANCE = 2e-3

interface PageResult {
  backend: string
  results: { index: number; kind: string; width: number; detections: Detection[] }[]
  errors: Record<'video' | 'image', { code: string; subject: string; message: string } | null>
  /** Each test image's RGB bytes as the page decoded them. */
  pixels: number[][]
}

interface StoredImage {
  input: JsonTensor
}

const stored = readJson<StoredImage[]>(fixture('detector').path('images.json'))

/** The same classes, each of TensorFlow's boxes overlapped (IoU ≥ 0.9) by one of ours; returns the largest coordinate difference. */
function expectSameDetections(ours: Detection[], theirs: Detection[], label: string): number {
  // Soft: one run reports every source kind that is off, not just the first.
  expect.soft(ours.map((d) => d.classId).sort(), label).toEqual(theirs.map((d) => d.classId).sort())
  let worst = 0
  for (const want of theirs) {
    const candidates = ours.filter((d) => d.classId === want.classId)
    if (candidates.length === 0) continue
    const best = candidates.reduce((a, b) => (iou(b.box, want.box) > iou(a.box, want.box) ? b : a))
    expect.soft(iou(best.box, want.box), `${label}: class ${want.classId}`).toBeGreaterThanOrEqual(0.9)
    worst = Math.max(worst, ...best.box.map((v, i) => Math.abs(v - want.box[i]!)))
  }
  return worst
}

async function buildPage(): Promise<string> {
  const { build } = await import('vite')
  const { default: tfmodel } = await import('../src/vite.js')
  const outDir = outDirFor('image-sources')
  await build({ root: appDir, base: './', configFile: false, logLevel: 'silent', plugins: [tfmodel({ dts: false })], build: { outDir, emptyOutDir: true, target: 'es2022' } })
  return outDir
}

async function runSources(page: Page, url: string, backend: string): Promise<PageResult> {
  await page.goto(url)
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 60_000 })
  return page.evaluate((b) => (globalThis as unknown as { runSources: (b: string) => Promise<PageResult> }).runSources(b), backend)
}

describe.skipIf(!haveChromium)('run() on each kind of image source, in Chromium', () => {
  let server: StaticServer
  let browser: Browser
  const expected = tensorflowDetections()

  beforeAll(async () => {
    server = await serveStatic(await buildPage())
    browser = await launch()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it.each(['webgl', 'wasm', 'cpu'])('gives the detections TensorFlow made, from every source kind, on %s', async (backend) => {
    const page = await browser.newPage()
    const { backend: used, results, errors, pixels } = await runSources(page, server.url, backend)
    expect(used).toBe(backend)
    // The page decodes the PNGs to the very bytes TensorFlow was given, so its outputs apply.
    for (const [index, image] of stored.entries()) {
      expect(Buffer.from(pixels[index]!).equals(Buffer.from(image.input.data as string, 'base64')), `image ${index} pixels`).toBe(true)
    }
    expect(results.map((r) => `${r.index} ${r.kind}`)).toEqual(stored.flatMap((_, index) => KINDS.map((kind) => `${index} ${kind}`)))
    for (const { index, kind, width, detections } of results) {
      const label = `${backend}, image ${index}, ${kind}`
      // The bug case only tests something if the element's layout size is not its natural size.
      if (kind === 'displayed') expect.soft(width, label).toBe(256)
      const worst = expectSameDetections(detections, expected[index]!, label)
      expect.soft(worst, `${label}: box coordinates`).toBeLessThanOrEqual(BOX_TOLERANCE)
    }
    expect.soft(errors.video).toMatchObject({ code: 'INVALID_INPUT', subject: 'image_tensor', message: expect.stringMatching(/image_tensor.*video.*frame/) })
    expect.soft(errors.image).toMatchObject({ code: 'INVALID_INPUT', subject: 'image_tensor', message: expect.stringMatching(/image_tensor.*image.*loaded/) })
    await page.close()
  }, 120_000)
})

// End to end in WebKit (Debian's WebKitGTK through its WebDriver), the engine
// closest to iOS WKWebView we can run: the same builds the Chromium tests
// serve, the web example's detections on each TF.js backend and the
// `?format=tflite` app on LiteRT.js's compat build (WebKit has no relaxed
// SIMD), against TensorFlow's outputs.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { buildExample, buildTfliteApp, expectTensorflowOutputs, runTfliteModels, tfliteInputs } from './browser-apps.js'
import { type Detection, expectSameDetections, tensorflowDetections } from './chromium.js'
import { root } from './fixtures.js'
import { serveStatic, type StaticServer } from './static-server.js'
import { haveWebKit, launchWebKit, missingWebKit, type WebKit } from './webkit.js'

const artifacts = join(root, 'test-results')

if (!haveWebKit) console.warn(`skipping the WebKit tests: ${missingWebKit} not installed (scripts/setup.sh installs webkit2gtk-driver and xvfb)`)

interface Shown {
  state: string
  error: string
  backend: string
  detections: string
  listed: number
}

/** In the page: waits for the example to finish (or fail) a detection, then reads what it shows. */
function whenShown(): Promise<Shown> {
  return new Promise((resolve) => {
    const check = () => {
      const state = document.body.dataset.state ?? ''
      if (state !== 'done' && state !== 'error') return void setTimeout(check, 50)
      const text = (id: string) => document.getElementById(id)?.textContent ?? ''
      resolve({ state, error: text('error'), backend: text('backend'), detections: text('detections'), listed: document.querySelectorAll('#list li').length })
    }
    check()
  })
}

async function detections(webkit: WebKit): Promise<Shown & { found: Detection[] }> {
  const shown = await webkit.evaluate(whenShown)
  expect(shown.state, shown.error).toBe('done')
  return { ...shown, found: JSON.parse(shown.detections) as Detection[] }
}

describe.skipIf(!haveWebKit)('in WebKit (WebKitGTK WebDriver)', () => {
  let webkit: WebKit
  let example: StaticServer
  let tflite: StaticServer
  const expected = tensorflowDetections()

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true })
    const [exampleDir, tfliteDir, browser] = await Promise.all([buildExample('web/vite.config.ts'), buildTfliteApp(), launchWebKit()])
    webkit = browser
    example = await serveStatic(exampleDir)
    tflite = await serveStatic(tfliteDir)
  }, 120_000)

  afterAll(async () => {
    await webkit?.close()
    await example?.close()
    await tflite?.close()
  })

  it.each(['webgl', 'wasm', 'cpu'])('examples/web draws the detections TensorFlow made, on %s', async (backend) => {
    await webkit.navigate(`${example.url}?backend=${backend}`)
    // The app detects on the first test image as soon as the model has loaded.
    const first = await detections(webkit)
    expectSameDetections(first.found, expected[0]!, `${backend}, first load`)
    expect(first.backend).toBe(backend)
    for (const [index, theirs] of expected.entries()) {
      await webkit.evaluate(() => void (document.body.dataset.state = 'picking'))
      await webkit.click(`button[aria-label="Test image ${index + 1}"]`)
      const shown = await detections(webkit)
      expectSameDetections(shown.found, theirs, `${backend}, image ${index}`)
      expect(shown.listed).toBe(theirs.length)
      if (index === 1) await webkit.screenshot(join(artifacts, `webkit-web-${backend}.png`))
    }
  }, 60_000)

  it("runs the ?format=tflite app on LiteRT.js's compat build to TensorFlow's outputs, from its own origin only", async () => {
    const before = tflite.requests.length
    await webkit.navigate(tflite.url)
    await webkit.evaluate(() => new Promise<void>((resolve) => {
      const check = () => ('models' in window ? resolve() : void setTimeout(check, 20))
      check()
    }))
    expectTensorflowOutputs(await webkit.evaluate(runTfliteModels, tfliteInputs()))
    // No relaxed SIMD in WebKit: the compat build, fetched once.
    expect(tflite.requests.slice(before).filter((r) => r.endsWith('.wasm'))).toEqual([expect.stringMatching(/litert_wasm_compat_internal-/)])
    const origin = new URL(tflite.url).origin
    const elsewhere = await webkit.evaluate((origin: string) => performance.getEntriesByType('resource').map((e) => e.name).filter((url) => !url.startsWith(`${origin}/`)), origin)
    expect(elsewhere).toEqual([])
  }, 60_000)
})

// A Vite build of a small app importing `?format=tflite` models, run in
// Chromium on LiteRT.js, against TensorFlow's outputs.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { buildTfliteApp, expectTensorflowOutputs, runTfliteModels, tfliteInputs } from './browser-apps.js'
import { haveChromium, launch } from './chromium.js'
import { serveStatic, type StaticServer } from './static-server.js'

describe.skipIf(!haveChromium)('a ?format=tflite import in Chromium', () => {
  let server: StaticServer
  let browser: Browser
  let outDir: string

  beforeAll(async () => {
    outDir = await buildTfliteApp()
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
    const page = await browser.newPage()
    const requested: string[] = []
    page.on('request', (request) => requested.push(request.url()))
    await page.goto(server.url)
    await page.waitForFunction(() => 'models' in window)
    expectTensorflowOutputs(await page.evaluate(runTfliteModels, tfliteInputs()))
    // One LiteRT.js build fetched, once, and nothing from anywhere but the app.
    expect(server.requests.filter((r) => r.endsWith('.wasm'))).toEqual([expect.stringMatching(/litert_wasm_(compat_)?internal-/)])
    const origin = new URL(server.url).origin
    expect(requested.filter((url) => !url.startsWith(`${origin}/`))).toEqual([])
    await page.close()
  }, 120_000)
})

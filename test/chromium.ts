// What the browser tests share: Debian's Chromium through playwright-core, and
// the detector fixture's detections as TensorFlow made them.
import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'
import { expect } from 'vitest'

import { fixture, type JsonTensor, readJson } from './fixtures.js'
import { floats, iou } from './tfjs-loader.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** Without a browser the browser tests report themselves skipped (scripts/setup.sh installs Chromium). */
export const haveChromium = existsSync(CHROMIUM)

export interface Detection {
  classId: number
  score: number
  box: [number, number, number, number]
}

interface StoredImage {
  outputs: Record<string, JsonTensor>
}

/** TensorFlow's detections for the fixture's test images (score ≥ 0.5). */
export function tensorflowDetections(): Detection[][] {
  return readJson<StoredImage[]>(fixture('detector').path('images.json')).map(({ outputs }) => {
    const boxes = floats(outputs.detection_boxes!)
    const scores = floats(outputs.detection_scores!)
    const classes = floats(outputs.detection_classes!)
    const count = floats(outputs.num_detections!)[0]!
    return [...Array(count).keys()]
      .filter((i) => scores[i]! >= 0.5)
      .map((i) => ({ classId: classes[i]!, score: scores[i]!, box: [...boxes.subarray(4 * i, 4 * i + 4)] as Detection['box'] }))
  })
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  })
}

/** The same classes as TensorFlow found, each box overlapping TensorFlow's by IoU ≥ 0.9. */
export function expectSameDetections(ours: Detection[], theirs: Detection[], label: string): void {
  expect(ours.map((d) => d.classId).sort(), label).toEqual(theirs.map((d) => d.classId).sort())
  for (const want of theirs) {
    const best = Math.max(...ours.filter((d) => d.classId === want.classId).map((d) => iou(d.box, want.box)))
    expect(best, `${label}: class ${want.classId}`).toBeGreaterThanOrEqual(0.9)
  }
}

// The quick start's main job: freeze a real TensorFlow model (the trained
// classifier in fixtures/convnet) with the built CLI, then list the result.
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { main } from '../dist/cli/index.js'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const fixture = join(root, 'fixtures', 'convnet')
const output = join(root, 'out', 'convnet.frozen.pb')
mkdirSync(dirname(output), { recursive: true })

const steps = [
  ['inspect', join(fixture, 'model.ckpt')],
  ['freeze', '--input_checkpoint', join(fixture, 'model.ckpt'), '--output_graph', output],
]
for (const argv of steps) {
  console.log(`\n$ tfmodel ${argv.join(' ')}`)
  const code = await main(argv)
  if (code !== 0) process.exit(code)
}
console.log(`\nFrozen graph written to ${output}`)

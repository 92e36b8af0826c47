// Runs the Node benchmark that needs no TensorFlow (the runtime's bytes), then
// the Python drivers with the project's Python (as the parity tests do):
// $TFMODEL_PYTHON, else .venv, else python3. Those need TensorFlow.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const venvPython = join(root, '.venv', 'bin', 'python')
const python = process.env.TFMODEL_PYTHON ?? (existsSync(venvPython) ? venvPython : 'python3')

const size = spawnSync(process.execPath, [join(root, 'bench', 'runtime-size.js')], { stdio: 'inherit' })
if (size.status !== 0) process.exit(size.status ?? 1)

for (const script of ['freeze.py', 'convert.py']) {
  const result = spawnSync(python, [join(root, 'bench', script), ...process.argv.slice(2)], { stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

// Runs test/parity.py with the project's Python: $TFMODEL_PYTHON, else the
// virtualenv `.ci/run` makes (.venv), else python3. No Python at all means the
// suite is reported as skipped, never as passed.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const venvPython = join(root, '.venv', 'bin', 'python')
const python = process.env.TFMODEL_PYTHON ?? (existsSync(venvPython) ? venvPython : 'python3')

// Words after the script pick cases by label, as parity.py takes them.
const result = spawnSync(python, [join(root, 'test', 'parity.py'), ...process.argv.slice(2)], { stdio: 'inherit' })
if (result.error) {
  console.log(`parity: skipped (no Python: ${result.error.message})`)
  console.log('0 passed, 0 failed, 1 skipped')
  process.exit(0)
}
process.exit(result.status ?? 1)

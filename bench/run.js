// Runs the Node benchmark that needs no TensorFlow (the runtime's bytes), then
// the Python drivers with the project's Python (as the parity tests do):
// $TFMODEL_PYTHON, else .venv, else python3. Those need TensorFlow. Then the
// inference benchmarks, whose models are built by the peers' Python
// (scripts/setup-peers.sh: TensorFlow beside tensorflowjs_converter).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const venvPython = join(root, '.venv', 'bin', 'python')
const python = process.env.TFMODEL_PYTHON ?? (existsSync(venvPython) ? venvPython : 'python3')
const peersPython = join(root, '.cache', 'peers', 'bin', 'python')

function run(command, args) {
  const result = spawnSync(command, args, { stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

run(process.execPath, [join(root, 'bench', 'runtime-size.js')])
for (const script of ['freeze.py', 'convert.py']) run(python, [join(root, 'bench', script), ...process.argv.slice(2)])
run('bash', [join(root, 'scripts', 'setup-peers.sh')])
run(peersPython, [join(root, 'bench', 'savedmodel.py'), ...process.argv.slice(2)])
for (const [models, timing] of [
  ['tfjs_models.py', 'tfjs.js'],
  ['tflite_models.py', 'tflite.js'],
]) {
  run(peersPython, [join(root, 'bench', models)])
  run(process.execPath, [join(root, 'bench', timing)])
}

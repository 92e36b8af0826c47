// Every temporary file a test (or the Python, browser and native code it
// starts) makes goes under one directory that the run removes when it ends,
// failed tests included. TFMODEL_KEEP_TMP=1 keeps it to look at.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'tfmodel-tests-'))
  // Read by os.tmpdir(), mkdtemp callers and child processes alike; set
  // before vitest starts its workers, which inherit it.
  process.env.TMPDIR = root
  return () => {
    if (process.env.TFMODEL_KEEP_TMP) console.log(`temporary files kept in ${root}`)
    else rmSync(root, { recursive: true, force: true })
  }
}

// The same app as examples/web, built into this Capacitor project's webDir.
// In your own app the import is `from 'unplugin-tfmodel/vite'`.
import { fileURLToPath } from 'node:url'

import { defineConfig } from 'vite'

import tfmodel from '../../dist/vite.js'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  root: here('../web'),
  // capacitor://localhost serves files relative to the app: no absolute URLs.
  base: './',
  plugins: [tfmodel({ dts: false })],
  // The app ships one .tflite: the full-integer one, which computes in int8 on the device.
  define: { __ALL_TFLITE_VARIANTS__: 'false' },
  build: { outDir: here('dist'), emptyOutDir: true, target: 'es2022' },
})

// The web example: a Vite app that imports the detector checkpoint with
// ?quantize. In your own app the import is `from 'unplugin-tfmodel/vite'`.
import { fileURLToPath } from 'node:url'

import { defineConfig } from 'vite'

import tfmodel from '../../dist/vite.js'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs: the build works from any base path, a file URL or a
  // Capacitor webview (capacitor://localhost), with no request leaving the app.
  base: './',
  plugins: [tfmodel({ dts: 'src/tfmodel-env.d.ts' })],
  // The page compares the three .tflite files of the detector (?format=tflite&compare).
  define: { __ALL_TFLITE_VARIANTS__: 'true' },
  build: { target: 'es2022' },
})

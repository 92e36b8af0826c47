import type { CapacitorConfig } from '@capacitor/cli'

const config: CapacitorConfig = {
  appId: 'dev.unpluginTfmodel.detector',
  appName: 'Shape detector',
  // The Vite build: model, weights and TF.js's WASM binaries are all in here,
  // referenced by relative URLs, so the app needs no network at run time.
  webDir: 'dist',
  ios: { contentInset: 'automatic' },
}

export default config

/**
 * A staging worker module that reads import.meta, which a CommonJS bundle cannot give it: esbuild
 * warns, so bundleWorkerScript refuses it and the pool starts its threads through tsx
 * (test/lib/staging-pool.test.ts).
 */
export const HERE = import.meta.url;

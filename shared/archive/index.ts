export * from './errors.js';
export * from './limits.js';
export { compareEntryPaths, normalizeEntryPath, resolveSymlinkTarget } from './paths.js';
export * from './read.js';
export * from './unpack.js';
export * from './pack.js';
